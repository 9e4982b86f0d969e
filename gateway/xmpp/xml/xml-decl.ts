// The XML declaration (XML 1.0 §2.8 [23]–[26], [32], §4.3.3 [80]–[81]), read one code point at a time after
// `<?xml` and the character that ended the target: it comes once per stream, so it is not worth a fast path.
// Errors are not-well-formed; a version other than 1.x or an encoding name that is not one is refused here, and
// the caller decides which encodings it takes.
import { StreamError } from '../errors.js';
import { isS } from './chars.js';

const enum D {
  NameStart,
  Name,
  Eq,
  ValueStart,
  Value,
  Separator,
  Ending,
}

const fail = (why: string) => new StreamError('not-well-formed', why);

export class XmlDeclReader {
  private state: D;
  private name = '';
  private value = '';
  private quote = 0;
  private expects: string[] = ['version'];
  encoding: string | undefined;

  /** `question`: the target was ended by `?` (`<?xml?>`), not by white space. */
  constructor(question: boolean) {
    this.state = question ? D.Ending : D.NameStart;
  }

  /** How much the reader holds, for the bound on unfinished tokens. */
  get held(): string {
    return this.name + this.value;
  }

  /** Takes one code point (line ends already normalized to LF); true when the declaration has ended with `?>`. */
  feed(c: number): boolean {
    switch (this.state) {
      case D.NameStart:
        if (c === 0x3f) this.state = D.Ending;
        else if (!isS(c)) {
          this.name = String.fromCodePoint(c);
          this.state = D.Name;
        }
        return false;
      case D.Name:
        if (c === 0x3f) throw fail('XML declaration is incomplete');
        if (!(isS(c) || c === 0x3d)) {
          this.name += String.fromCodePoint(c);
          return false;
        }
        if (!this.expects.includes(this.name)) throw fail(`expected ${this.expects.join(' or ') || 'no more pseudo-attributes'}`);
        this.state = c === 0x3d ? D.ValueStart : D.Eq;
        return false;
      case D.Eq:
        if (c === 0x3f) throw fail('XML declaration is incomplete');
        if (isS(c)) return false;
        if (c !== 0x3d) throw fail('value required');
        this.state = D.ValueStart;
        return false;
      case D.ValueStart:
        if (c === 0x3f) throw fail('XML declaration is incomplete');
        if (isS(c)) return false;
        if (c !== 0x22 && c !== 0x27) throw fail('value must be quoted');
        this.quote = c;
        this.state = D.Value;
        return false;
      case D.Value:
        if (c === 0x3f) throw fail('XML declaration is incomplete');
        if (c !== this.quote) {
          this.value += String.fromCodePoint(c);
          return false;
        }
        this.pseudoAttribute();
        this.state = D.Separator;
        return false;
      case D.Separator:
        if (c === 0x3f) this.state = D.Ending;
        else if (!isS(c)) throw fail('whitespace required');
        else this.state = D.NameStart;
        return false;
      case D.Ending:
        if (c !== 0x3e) throw fail('the character ? is disallowed in XML declarations');
        if (this.name !== 'version' && this.expects.includes('version')) throw fail('XML declaration must contain a version');
        return true;
    }
  }

  private pseudoAttribute(): void {
    const value = this.value;
    this.value = '';
    switch (this.name) {
      case 'version':
        this.expects = ['encoding', 'standalone'];
        if (!/^1\.[0-9]+$/.test(value)) throw fail('version number must match /^1\\.[0-9]+$/');
        break;
      case 'encoding':
        if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(value)) throw fail('bad encoding name');
        this.expects = ['standalone'];
        this.encoding = value;
        break;
      default: // standalone (the name was checked against what may come)
        if (value !== 'yes' && value !== 'no') throw fail('standalone must be "yes" or "no"');
        this.expects = [];
    }
    this.name = '';
  }
}
