// A streaming tokenizer for the XML of XMPP streams (RFC 6120 §11: no DTD, comments, PIs or entities other than
// the five predefined; XML 1.0 Fifth Edition, Namespaces in XML 1.0). It works on decoded text in runs: each
// state scans as far as it can with charCodeAt (text to the next `<` or `&`, names by an ASCII table, values to
// their quote) and keeps what a read ended inside (a name, a value, a text) so nothing is scanned twice.
// Events go to the handlers; errors are thrown as StreamError and the caller stops feeding.
import { StreamError } from '../errors.js';
import { codePointAt, disallowed, isNameChar, isNameStartChar, isS, NAME_TABLE, referenceValue } from './chars.js';
import { declare, resolveTag, splitName, type XmlAttr, type XmlTag } from './namespaces.js';
import { MarkupReader } from './markup.js';

export type { XmlAttr, XmlTag } from './namespaces.js';

export interface TokenHandlers {
  /** A start tag's name was read (before its attributes). */
  tagStart(): void;
  /** One more attribute of the current start tag. */
  attribute(): void;
  openTag(tag: XmlTag): void;
  /** Character data inside the root element, up to the next markup (never empty). */
  text(text: string): void;
  /** A CDATA section inside the root element (may be empty). */
  cdata(text: string): void;
  /** An element ends: `tag` is the open element the end tag closed (see closeTag). */
  closeTag(tag: XmlTag): void;
  xmlDecl(encoding: string | undefined): void;
}

const enum S {
  Begin,
  Text,
  Lt,
  OpenName,
  Attrs,
  AttrName,
  AttrNameWs,
  AttrEq,
  AttrValue,
  AttrClosed,
  Slash,
  CloseName,
  CloseWs,
  Entity,
  /** In markup.ts's hands: `<!…` or `<?…`. */
  Markup,
}

const notWellFormed = (why: string) => new StreamError('not-well-formed', why);

export class XmlTokenizer {
  /** Chars fed before the current read (its index 0), and the position just after the token being reported. */
  private base = 0;
  position = 0;
  private state = S.Begin;
  private carry = '';
  /** Open elements, the root first. */
  private readonly open: XmlTag[] = [];
  private sawRoot = false;
  private closedRoot = false;
  /** Where a `<?xml` must start to be the declaration (after a byte order mark: 1). */
  private declAt = 0;
  private ltAt = -1;
  // What a read ended inside: text, a name, an attribute value, a reference, markup.
  private text = '';
  private name = '';
  private value = '';
  private quote = 0;
  private entity = '';
  private entityIn = S.Text;
  /** `]` just before the end of the text scanned so far (0–2). */
  private marks = 0;
  private tag: XmlTag | undefined;
  private readonly markup = new MarkupReader();

  constructor(private readonly on: TokenHandlers) {}

  /** The UTF-8 bytes held for unfinished tokens (the stanza limit bounds them; the fuzz targets read it). */
  get held(): number {
    const parts = [this.text, this.name, this.value, this.entity, this.markup.held];
    for (const a of this.tag?.attrs ?? []) parts.push(a.name, a.value);
    return parts.reduce((sum, p) => sum + Buffer.byteLength(p), 0);
  }

  write(chunk: string, last = false): void {
    let s = this.carry === '' ? chunk : this.carry + chunk;
    this.carry = '';
    const end = s.charCodeAt(s.length - 1);
    // A CR (its LF may follow) or a high surrogate (its pair follows) waits for the next read.
    if (!last && (end === 0x0d || (end >= 0xd800 && end <= 0xdbff))) {
      this.carry = s.slice(-1);
      s = s.slice(0, -1);
    }
    const n = s.length;
    let i = 0;
    if (this.state === S.Begin && n > 0) {
      if (s.charCodeAt(0) === 0xfeff) i = this.declAt = 1;
      this.state = S.Text;
    }
    while (i < n) i = this.step(s, i);
    this.base += n;
  }

  /** End of a whole document (an RFC 7395 frame): anything unfinished is an error. */
  end(): void {
    this.write('', true);
    if (!this.sawRoot) throw notWellFormed('document must contain a root element');
    if (this.open.length > 0) throw notWellFormed(`unclosed tag: ${this.open[this.open.length - 1]!.name}`);
    if (this.state !== S.Text && this.state !== S.Begin) throw notWellFormed('unexpected end');
  }

  private step(s: string, i: number): number {
    switch (this.state) {
      case S.Text:
        return this.open.length > 0 ? this.inRoot(s, i) : this.outside(s, i);
      case S.Lt:
        return this.lt(s, i);
      case S.OpenName:
      case S.AttrName:
      case S.CloseName:
        return this.nameRun(s, i);
      case S.Attrs:
      case S.AttrNameWs:
      case S.AttrEq:
      case S.AttrClosed:
      case S.Slash:
      case S.CloseWs:
        return this.inTag(s, i);
      case S.AttrValue:
        return this.attrValue(s, i);
      case S.Entity:
        return this.reference(s, i);
      default: {
        const next = this.markup.read(s, i, this.on);
        if (!this.markup.active) this.state = S.Text;
        return next;
      }
    }
  }

  /** Character data inside the root: to the next `<` or `&`, line ends normalized (XML 1.0 §2.11). */
  private inRoot(s: string, i: number): number {
    const from = i;
    let start = i;
    const n = s.length;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x3e) {
        if (c < 0xd800) continue;
        if (c <= 0xdbff) {
          const lo = s.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            i++;
            continue;
          }
          throw disallowed();
        }
        if (c >= 0xe000 && c <= 0xfffd) continue;
        throw disallowed();
      }
      if (c >= 0x20) {
        if (c === 0x3c) {
          const t = this.text === '' ? s.slice(start, i) : this.text + s.slice(start, i);
          this.text = '';
          this.marks = 0;
          this.ltAt = this.base + i;
          this.state = S.Lt;
          if (t !== '') this.on.text(t);
          return i + 1;
        }
        if (c === 0x26) {
          this.text += s.slice(start, i);
          this.beginReference(S.Text);
          return i + 1;
        }
        if (c === 0x3e && this.bracketsBefore(s, from, i) >= 2) throw notWellFormed('the string "]]>" is not allowed in text');
        continue;
      }
      if (c === 0x0a || c === 0x09) continue;
      if (c !== 0x0d) throw disallowed();
      this.text += s.slice(start, i) + '\n';
      if (s.charCodeAt(i + 1) === 0x0a) i++;
      start = i + 1;
    }
    this.text += s.slice(start, n);
    this.marks = this.bracketsBefore(s, from, n);
    return n;
  }

  /** How many `]` (up to 2) come just before `i`, counting on from those that ended the previous read. */
  private bracketsBefore(s: string, from: number, i: number): number {
    if (i - from >= 2) return s.charCodeAt(i - 1) !== 0x5d ? 0 : s.charCodeAt(i - 2) === 0x5d ? 2 : 1;
    if (i - from === 1) return s.charCodeAt(i - 1) !== 0x5d ? 0 : Math.min(2, this.marks + 1);
    return this.marks;
  }

  /** Before the root or after it: only white space (the XML declaration and `<` start markup). */
  private outside(s: string, i: number): number {
    const n = s.length;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3c) {
        this.ltAt = this.base + i;
        this.state = S.Lt;
        return i + 1;
      }
      if (!isS(c)) {
        codePointAt(s, i); // a character XML does not allow is reported as that
        throw notWellFormed('text data outside of root node');
      }
    }
    return n;
  }

  private lt(s: string, i: number): number {
    const c = codePointAt(s, i);
    if (isNameStartChar(c)) {
      this.state = S.OpenName;
      return i;
    }
    switch (c) {
      case 0x2f:
        this.state = S.CloseName;
        return i + 1;
      case 0x21:
      case 0x3f:
        this.state = S.Markup;
        this.markup.start(c === 0x21, this.sawRoot && !this.closedRoot, this.ltAt === this.declAt);
        return i + 1;
      default:
        throw notWellFormed('disallowed character after <');
    }
  }

  /** A tag name, attribute name or end-tag name: ASCII by table, the rest by the NameChar production. */
  private nameRun(s: string, i: number): number {
    const start = i;
    const n = s.length;
    let c = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c < 0x80) {
        if (NAME_TABLE[c] !== 0) continue;
        break;
      }
      c = codePointAt(s, i);
      if (!isNameChar(c)) break;
      if (c > 0xffff) i++;
    }
    this.name += s.slice(start, i);
    if (i >= n) return n;
    c = codePointAt(s, i); // the character that ended the name must itself be allowed
    const name = this.name;
    this.name = '';
    if (this.state === S.OpenName) {
      this.tag = { name, prefix: '', local: '', uri: '', attrs: [], ns: undefined };
      this.on.tagStart();
      this.sawRoot = true;
      if (this.closedRoot) throw notWellFormed('documents may contain only one root');
      if (c === 0x3e) return this.startTagEnd(i, false);
      if (c === 0x2f) this.state = S.Slash;
      else if (isS(c)) this.state = S.Attrs;
      else throw notWellFormed('disallowed character in tag name');
      return i + 1;
    }
    if (this.state === S.CloseName) {
      if (c === 0x3e) return this.endTag(name, i);
      if (!isS(c)) throw notWellFormed('disallowed character in end tag');
      this.value = name;
      this.state = S.CloseWs;
      return i + 1;
    }
    // An attribute name.
    this.value = '';
    this.name = name;
    if (c === 0x3d) this.state = S.AttrEq;
    else if (isS(c)) this.state = S.AttrNameWs;
    else throw notWellFormed(c === 0x3e ? 'attribute without value' : 'disallowed character in attribute name');
    return i + 1;
  }

  /** Between a tag's parts: white space, then what may come next. */
  private inTag(s: string, i: number): number {
    const c = codePointAt(s, i);
    switch (this.state) {
      case S.Attrs:
      case S.AttrClosed:
        if (isS(c)) {
          this.state = S.Attrs;
          return i + 1;
        }
        if (c === 0x3e) return this.startTagEnd(i, false);
        if (c === 0x2f) {
          this.state = S.Slash;
          return i + 1;
        }
        if (isNameStartChar(c) && this.state === S.Attrs) {
          this.state = S.AttrName;
          return i;
        }
        throw notWellFormed(isNameStartChar(c) ? 'no whitespace between attributes' : 'disallowed character in attribute name');
      case S.AttrNameWs:
        if (isS(c)) return i + 1;
        if (c !== 0x3d) throw notWellFormed('attribute without value');
        this.state = S.AttrEq;
        return i + 1;
      case S.AttrEq:
        if (isS(c)) return i + 1;
        if (c !== 0x22 && c !== 0x27) throw notWellFormed('unquoted attribute value');
        this.quote = c;
        this.state = S.AttrValue;
        return i + 1;
      case S.Slash:
        if (c !== 0x3e) throw notWellFormed('/ in a start tag not followed by >');
        return this.startTagEnd(i, true);
      default: // S.CloseWs
        if (isS(c)) return i + 1;
        if (c !== 0x3e) throw notWellFormed('disallowed character in end tag');
        return this.endTag(this.value, i);
    }
  }

  /** A quoted attribute value, normalized as XML 1.0 §3.3.3 says for CDATA attributes. */
  private attrValue(s: string, i: number): number {
    let start = i;
    const n = s.length;
    const q = this.quote;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === q) {
        this.attribute(this.value + s.slice(start, i));
        this.state = S.AttrClosed;
        return i + 1;
      }
      if (c > 0x3c) {
        if (c < 0xd800) continue;
        if (codePointAt(s, i) > 0xffff) i++;
        continue;
      }
      if (c >= 0x20) {
        if (c === 0x26) {
          this.value += s.slice(start, i);
          this.beginReference(S.AttrValue);
          return i + 1;
        }
        if (c === 0x3c) throw notWellFormed('< in an attribute value');
        continue;
      }
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) throw disallowed();
      this.value += s.slice(start, i) + ' ';
      if (c === 0x0d && s.charCodeAt(i + 1) === 0x0a) i++;
      start = i + 1;
    }
    this.value += s.slice(start, n);
    return n;
  }

  private attribute(value: string): void {
    const tag = this.tag!;
    const name = this.name;
    this.name = this.value = '';
    const [prefix, local] = splitName(name);
    const attr: XmlAttr = { name, prefix, local, value, uri: '' };
    tag.attrs.push(attr);
    this.on.attribute();
    if (prefix === 'xmlns' || name === 'xmlns') declare(tag, attr);
  }

  /** The `>` at `i` ends a start tag (`selfClosing`: `/>`). */
  private startTagEnd(i: number, selfClosing: boolean): number {
    const tag = this.tag!;
    this.tag = undefined;
    resolveTag(tag, this.open);
    this.position = this.base + i + 1;
    this.state = S.Text;
    this.on.openTag(tag);
    if (selfClosing) {
      this.on.closeTag(tag);
      if (this.open.length === 0) this.closedRoot = true;
    } else {
      this.open.push(tag);
    }
    return i + 1;
  }

  /** The `>` at `i` ends the end tag `</name>`: it closes the innermost open element, which must be `name`. */
  private endTag(name: string, i: number): number {
    this.value = '';
    this.state = S.Text;
    if (name === '') throw notWellFormed('empty end tag');
    const tag = this.open.pop();
    if (!tag) throw notWellFormed(`unmatched end tag: ${name}`);
    this.position = this.base + i + 1;
    // saxes closed the element before it saw that the name was wrong; the events stay the same.
    this.on.closeTag(tag);
    if (tag.name !== name) throw notWellFormed(`end tag ${name} does not match ${tag.name}`);
    if (this.open.length === 0) this.closedRoot = true;
    return i + 1;
  }

  private beginReference(inside: S): void {
    this.entityIn = inside;
    this.entity = '';
    this.marks = 0;
    this.state = S.Entity;
  }

  /** `&…;`: the five predefined entities and character references (XML 1.0 §4.1 [66], [68]); nothing else. */
  private reference(s: string, i: number): number {
    const start = i;
    const n = s.length;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3b) break;
      if (c < 0x20 || c >= 0xd800) i += codePointAt(s, i) > 0xffff ? 1 : 0;
    }
    this.entity += s.slice(start, i);
    if (i >= n) return n;
    const ch = referenceValue(this.entity);
    this.entity = '';
    if (this.entityIn === S.Text) this.text += ch;
    else this.value += ch;
    this.state = this.entityIn;
    return i + 1;
  }
}
