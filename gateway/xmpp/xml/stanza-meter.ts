// The stanza byte limit of an XML stream (xml/parser.ts, and the saxes oracle in test/support): the bytes fed
// since the end of the last top-level element (or the root's start tag), checked at the end of each piece a read
// is cut into and at each element's end, so a stanza that starts and ends inside one piece is measured too.
import { StreamError } from '../errors.js';

export class StanzaMeter {
  private totalBytes = 0;
  private boundaryBytes = 0;
  private charsBeforePiece = 0;
  private bytesBeforePiece = 0;
  private piece = '';
  /** The last boundary inside the current piece (chars into it, and total bytes there): the next one counts on from it. */
  private markChars = 0;
  private markBytes = 0;

  constructor(private readonly maxStanzaBytes: number) {}

  /** Parses one piece of a read with `parse`, then checks what was fed since the last boundary. */
  feed(piece: string, parse: (piece: string) => void): void {
    this.piece = piece;
    this.bytesBeforePiece = this.totalBytes;
    this.markChars = 0;
    this.markBytes = this.totalBytes;
    this.totalBytes += Buffer.byteLength(piece);
    parse(piece);
    this.charsBeforePiece += piece.length;
    this.check(this.totalBytes - this.boundaryBytes);
  }

  /**
   * A top-level element ended (`stanzaEnd`) or the root's start tag did, `position` chars into the stream: the
   * next stanza's bytes start right after it.
   */
  boundary(position: number, stanzaEnd: boolean): void {
    const idx = Math.max(0, Math.min(this.piece.length, position - this.charsBeforePiece));
    // Counted from the previous boundary in this piece, not from its start: many stanzas in one read stay linear.
    const boundary =
      idx >= this.markChars
        ? this.markBytes + byteLength(this.piece, this.markChars, idx)
        : this.bytesBeforePiece + byteLength(this.piece, 0, idx);
    this.markChars = idx;
    this.markBytes = boundary;
    if (stanzaEnd) this.check(boundary - this.boundaryBytes);
    this.boundaryBytes = boundary;
  }

  private check(bytes: number): void {
    if (bytes > this.maxStanzaBytes) {
      throw new StreamError('policy-violation', `stanza larger than ${this.maxStanzaBytes} bytes`);
    }
  }
}

/** UTF-8 length of s[from, to): what Buffer.byteLength(s.slice(from, to)) gives, without the slice. */
function byteLength(s: string, from = 0, to = s.length): number {
  let n = to - from;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 4 bytes for 2 units
      i++;
    } else n += 2;
  }
  return n;
}
