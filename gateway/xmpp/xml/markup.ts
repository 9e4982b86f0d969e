// The tokenizer's rare markup (XML 1.0 §2.5–2.8, §2.7): after `<!`, a comment (refused), a CDATA section or a
// DOCTYPE (refused); after `<?`, a processing instruction (refused) or the XML declaration (xml-decl.ts). Read one
// code point at a time: none of it is on a stanza's path but CDATA, which scans in a run.
import { StreamError } from '../errors.js';
import { codePointAt, isNameChar, isNameStartChar, isS } from './chars.js';
import type { TokenHandlers } from './tokenizer.js';
import { XmlDeclReader } from './xml-decl.js';

const enum M {
  Bang,
  Comment,
  CData,
  PiFirst,
  PiTarget,
  PiBody,
  XmlDecl,
}

const notWellFormed = (why: string) => new StreamError('not-well-formed', why);
const restricted = (what: string) => new StreamError('restricted-xml', `${what} not allowed in XMPP`);

export class MarkupReader {
  /** False once the markup has ended (the tokenizer goes back to text). */
  active = false;
  private state = M.Bang;
  private inRoot = false;
  private declPossible = false;
  /** `<!`'s keyword so far, or the PI target. */
  private name = '';
  /** A CDATA section's raw text so far. */
  private text = '';
  /** `]` just before (0–2) in CDATA, or a `-` (comment) or `?` (PI) just before (1). */
  private marks = 0;
  private decl: XmlDeclReader | undefined;

  /** After `<!` (`bang`) or `<?`; `inRoot`: inside the root element; `declPossible`: the `<` was the document's first. */
  start(bang: boolean, inRoot: boolean, declPossible: boolean): void {
    this.active = true;
    this.state = bang ? M.Bang : M.PiFirst;
    this.inRoot = inRoot;
    this.declPossible = declPossible;
    this.name = this.text = '';
    this.marks = 0;
  }

  get held(): string {
    return this.name + this.text + (this.decl?.held ?? '');
  }

  /** `<!…`, comments, CDATA sections, PIs and the XML declaration: rare, read one code point at a time. */
  read(s: string, i: number, on: Pick<TokenHandlers, 'cdata' | 'xmlDecl'>): number {
    let c = codePointAt(s, i);
    let next = i + (c > 0xffff ? 2 : 1);
    if (c === 0x0d) {
      if (s.charCodeAt(next) === 0x0a) next++;
      c = 0x0a;
    }
    switch (this.state) {
      case M.Bang: {
        const bang = (this.name += String.fromCodePoint(c));
        if (bang === '--') {
          this.name = '';
          this.marks = 0;
          this.state = M.Comment;
        } else if (bang === '[CDATA[') {
          this.name = '';
          if (!this.inRoot) throw notWellFormed('text data outside of root node');
          this.marks = 0;
          this.state = M.CData;
        } else if (bang === 'DOCTYPE') {
          throw restricted('DOCTYPE is');
        } else if (bang.length >= 7) {
          throw notWellFormed('incorrect syntax after <!');
        }
        return next;
      }
      case M.Comment:
        // A comment ends at its first `--` (it must be `-->`): refused there, as saxes did.
        if (c === 0x2d && this.marks === 1) throw restricted('comments are');
        this.marks = c === 0x2d ? 1 : 0;
        return next;
      case M.CData:
        return this.cdata(s, i, on);
      // A PI target is an NCName (Namespaces in XML 1.0 §7): a colon is refused like any other bad character.
      case M.PiFirst:
        if (isNameStartChar(c) && c !== 0x3a) {
          this.name = String.fromCodePoint(c);
          this.state = M.PiTarget;
          return next;
        }
        throw restricted('processing instructions are');
      case M.PiTarget:
        if (isNameChar(c) && c !== 0x3a) {
          this.name += String.fromCodePoint(c);
          return next;
        }
        if (c !== 0x3f && !isS(c)) throw restricted('processing instructions are');
        if (this.name === 'xml') {
          if (!this.declPossible) throw notWellFormed('an XML declaration must be at the start of the document');
          this.decl = new XmlDeclReader(c === 0x3f);
          this.state = M.XmlDecl;
        } else {
          this.marks = c === 0x3f ? 1 : 0;
          this.state = M.PiBody;
        }
        return next;
      case M.PiBody:
        if (c === 0x3e && this.marks === 1) {
          if (this.name.toLowerCase() === 'xml') throw notWellFormed('the XML declaration must be at the start of the document');
          throw restricted('processing instructions are');
        }
        this.marks = c === 0x3f ? 1 : 0;
        return next;
      default: // M.XmlDecl
        if (this.decl!.feed(c)) {
          const { encoding } = this.decl!;
          this.decl = undefined;
          this.name = '';
          this.active = false;
          on.xmlDecl(encoding);
        }
        return next;
    }
  }

  /** Inside `<![CDATA[`: to the first `]]>`, line ends normalized. */
  private cdata(s: string, i: number, on: Pick<TokenHandlers, 'cdata'>): number {
    const start = i;
    const n = s.length;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5d) {
        if (this.marks < 2) this.marks++;
        continue;
      }
      if (c === 0x3e && this.marks === 2) {
        // Without the two `]` before the `>` (either may have come in an earlier read).
        const raw = this.text + s.slice(start, i);
        const body = raw.slice(0, raw.length - 2);
        this.text = '';
        this.marks = 0;
        this.active = false;
        on.cdata(body.includes('\r') ? body.replace(/\r\n?/g, '\n') : body);
        return i + 1;
      }
      this.marks = 0;
      if (c < 0x20 || c >= 0xd800) i += codePointAt(s, i) > 0xffff ? 1 : 0;
    }
    this.text += s.slice(start, n);
    return n;
  }
}
