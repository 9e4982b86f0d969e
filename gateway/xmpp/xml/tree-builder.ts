// The Elements a parser builds from complete start tags, text and end tags (xml/parser.ts, and the saxes oracle
// in test/support): local names, xmlns only where the namespace changes, adjacent text merged, and the depth and
// attribute limits, checked as the tokens come.
import { StreamError } from '../errors.js';
import { Element } from './element.js';
import type { XmlLimits } from './parser.js';
import type { XmlTag } from './tokenizer.js';

/** Builds normalized Elements from tags: local names, xmlns only where it changes. */
export class TreeBuilder {
  private readonly stack: Element[] = [];
  private attrCount = 0;

  constructor(private readonly limits: XmlLimits) {}

  get depth(): number {
    return this.stack.length;
  }

  countAttribute(): void {
    if (++this.attrCount > this.limits.maxAttributes) {
      throw new StreamError('policy-violation', `more than ${this.limits.maxAttributes} attributes`);
    }
  }

  startTag(): void {
    this.attrCount = 0;
    if (this.stack.length + 1 > this.limits.maxDepth) {
      throw new StreamError('policy-violation', `nesting deeper than ${this.limits.maxDepth}`);
    }
  }

  open(tag: XmlTag): void {
    // Written straight into the element's own attributes (plain strings already: nothing for its constructor to copy).
    const el = new Element(tag.local);
    const attrs = el.attrs;
    for (const a of tag.attrs) {
      if (a.name === 'xmlns' || a.prefix === 'xmlns') continue; // declarations are re-derived
      attrs[a.name] = a.value;
      // A foreign-namespace attribute keeps its prefix, so it needs its declaration.
      if (a.prefix !== '' && a.prefix !== 'xml') attrs[`xmlns:${a.prefix}`] = a.uri;
    }
    const parent = this.stack[this.stack.length - 1];
    const ns = tag.uri;
    if (!parent || parent.getNS() !== ns) attrs.xmlns = ns;
    if (parent) parent.append(el);
    this.stack.push(el);
  }

  text(t: string): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) return;
    // Adjacent text (e.g. around a CDATA section) is merged into one node.
    const last = top.children[top.children.length - 1];
    if (typeof last === 'string') top.children[top.children.length - 1] = last + t;
    else top.append(t);
  }

  /** Returns the element when a top-level one completes. */
  close(): Element | undefined {
    const el = this.stack.pop();
    if (this.stack.length === 0 && el) {
      el.parent = undefined;
      return el;
    }
    return undefined;
  }
}
