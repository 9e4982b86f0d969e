// XML elements as the XMPP layer sees them: a small tree with escaping serialization.
// Namespaces are normalized by the parser: `name` is the local name, and an element's
// namespace is its own `xmlns` attribute or, when absent, its parent's.

export type Node = Element | string;

export class Element {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: Node[] = [];
  parent: Element | undefined;

  constructor(name: string, attrs: Record<string, string | number | undefined | null> = {}) {
    this.name = name;
    this.attrs = {};
    for (const k in attrs) {
      if (!Object.hasOwn(attrs, k)) continue;
      const v = attrs[k];
      if (v !== undefined && v !== null) this.attrs[k] = String(v);
    }
  }

  /** The namespace URI of this element (own xmlns, else inherited). */
  getNS(): string | undefined {
    return this.attrs.xmlns ?? this.parent?.getNS();
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  /** Appends children (elements or text) and returns this, for chaining. */
  append(...nodes: Array<Node | undefined | null | false>): this {
    for (const node of nodes) {
      if (node === undefined || node === null || node === false) continue;
      if (typeof node !== 'string') node.parent = this;
      this.children.push(node);
    }
    return this;
  }

  /** Child elements only (text nodes left out). */
  elements(): Element[] {
    return this.children.filter((c): c is Element => typeof c !== 'string');
  }

  getChild(name: string, xmlns?: string): Element | undefined {
    return this.children.find(
      (c): c is Element => typeof c !== 'string' && c.name === name && (xmlns === undefined || c.getNS() === xmlns),
    );
  }

  getChildren(name: string, xmlns?: string): Element[] {
    return this.children.filter(
      (c): c is Element => typeof c !== 'string' && c.name === name && (xmlns === undefined || c.getNS() === xmlns),
    );
  }

  /** Concatenated text of this element's direct text children. */
  text(): string {
    return this.children.filter((c): c is string => typeof c === 'string').join('');
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.text();
  }

  /** A deep copy without a parent. */
  clone(): Element {
    const copy = new Element(this.name, this.attrs);
    for (const c of this.children) copy.append(typeof c === 'string' ? c : c.clone());
    return copy;
  }

  toString(): string {
    let out = `<${this.name}`;
    // for-in, not Object.entries: no array per attribute for every stanza written (the same order).
    const attrs = this.attrs;
    for (const k in attrs) out += ` ${k}="${escapeAttr(attrs[k]!)}"`;
    if (this.children.length === 0) return `${out}/>`;
    out += '>';
    for (const c of this.children) out += typeof c === 'string' ? escapeText(c) : c.toString();
    return `${out}</${this.name}>`;
  }
}

/** Builds an element: `x('iq', { type: 'result', id }, x('query', { xmlns }))`. */
export function x(
  name: string,
  attrs?: Record<string, string | number | undefined | null> | null,
  ...children: Array<Node | undefined | null | false>
): Element {
  return new Element(name, attrs ?? {}).append(...children);
}

// Characters XML 1.0 cannot carry at all (not even escaped) are replaced with U+FFFD.
const ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// Anything escapeText would change (a lone or paired surrogate sends it the long way, which checks the pair).
const TEXT_WORK = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ATTR_WORK = /[&<>\r"'\t\n\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

// A literal CR is read back as LF (XML 1.0 §2.11 end-of-line handling); the reference &#13; stays a CR.
export function escapeText(s: string): string {
  // Most texts and attribute values need nothing: one scan instead of five replaces.
  if (!TEXT_WORK.test(s)) return s;
  return s
    .replace(ILLEGAL, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

export function escapeAttr(s: string): string {
  // CR is already a reference (escapeText); TAB and LF would become spaces (XML 1.0 §3.3.3).
  if (!ATTR_WORK.test(s)) return s;
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}
