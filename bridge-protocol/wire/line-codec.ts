// The compat line codec: peer bytes in, messages out, and one write per message out (PROTOCOL.md "Application data: lines of text").
// Pure: no sockets, timers or logging.
import { FrameTooLargeError } from '../errors.js';
import { sanitizeForXml } from './xml-chars.js';
import { cutToUtf8Bytes } from './utf8-cut.js';

export { sanitizeForXml } from './xml-chars.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

export interface DecodedMessage {
  text: string;
  /** The line was longer than the limit: this is its head, the rest up to its LF was dropped. */
  truncated: boolean;
}

export interface LineDecoderOptions {
  /** Largest message delivered, in UTF-8 bytes of the delivered text (default 64 KiB). */
  maxMessageBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;

/** One line after decoding, before lines are grouped into messages. */
interface Piece {
  text: string;
  bytes: number;
  truncated: boolean;
}

/**
 * Turns the byte stream of one link into messages.
 *
 * The reference receiver shows each read() as one message minus one trailing LF, and the
 * reference sender writes the text, then a separate LF; a multi-line message is one write
 * with LFs inside. So a reference peer's multi-line message arrives as "a\nb" then "\n", and
 * lines typed into gnutls-cli arrive as "a\n", "b\n". We group the same way without
 * trusting read sizes: bytes are held until a push leaves them ending in LF; then everything
 * held is ONE message, minus that final LF. ("a\nb" + "\n" is one message "a\nb"; "a\n" +
 * "b\n" are two.)
 *
 * Limits (the reference has none, so a peer can send endless lines): when what is held grows
 * past the limit, the complete lines in it are delivered at once, split at line boundaries
 * into messages within the limit (nothing lost); a single line longer than the limit is cut
 * there, delivered with `truncated: true`, and the rest of it up to its LF is dropped.
 * Held bytes never exceed the limit plus one chunk.
 */
// fatal: false turns invalid UTF-8 into U+FFFD; ignoreBOM keeps a leading U+FEFF as sent. Each decode() is of
// whole messages (no `stream`), so no state is kept between calls and one decoder serves every link (one per
// link cost ~0.9 kB).
const UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export class LineDecoder {
  private readonly limit: number;
  /** Bytes received since the last message, CRs removed; at most `limit` between pushes. */
  private held: Buffer[] = [];
  private heldLength = 0;
  /** The head of an over-long line was delivered; drop bytes until its LF. */
  private discarding = false;

  constructor(opts: LineDecoderOptions = {}) {
    const limit = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    // At least 4 bytes so that any one UTF-8 character fits in a message.
    if (!Number.isSafeInteger(limit) || limit < 4) {
      throw new RangeError(`maxMessageBytes must be an integer >= 4, got ${limit}`);
    }
    this.limit = limit;
  }

  push(chunk: Uint8Array): DecodedMessage[] {
    const out: DecodedMessage[] = [];
    // CR LF becomes LF and a lone CR is dropped: removing every CR does both, also when the
    // CR and its LF arrive in different chunks.
    let bytes = stripCR(asBuffer(chunk));
    if (this.discarding) {
      // The first LF ends the over-long line whose head was already delivered.
      const lf = bytes.indexOf(LF);
      if (lf < 0) return out;
      bytes = bytes.subarray(lf + 1);
      this.discarding = false;
    }
    if (bytes.length === 0) return out;
    if (bytes[bytes.length - 1] === LF) {
      this.emitGroup(this.takeHeld(bytes.subarray(0, -1)), out);
      return out;
    }
    if (this.heldLength + bytes.length <= this.limit) {
      // Copy: the caller may reuse its buffer, and a small copy lets a large chunk be freed.
      this.held.push(Buffer.from(bytes));
      this.heldLength += bytes.length;
      return out;
    }
    // Too much without a final LF: deliver the complete lines, keep or cut the last one.
    const all = this.takeHeld(bytes);
    const last = all.lastIndexOf(LF);
    if (last >= 0) this.emitGroup(all.subarray(0, last), out);
    const tail = all.subarray(last + 1);
    if (tail.length > this.limit) {
      out.push({ text: this.decodeLine(tail).text, truncated: true });
      this.discarding = true;
    } else if (tail.length > 0) {
      this.held.push(Buffer.from(tail));
      this.heldLength = tail.length;
    }
    return out;
  }

  /** End of stream: what is held without a final LF is still a message. */
  end(): DecodedMessage[] {
    const out: DecodedMessage[] = [];
    const rest = this.takeHeld(Buffer.alloc(0));
    if (!this.discarding) this.emitGroup(rest, out);
    this.discarding = false;
    return out;
  }

  /** Everything held followed by `more`, as one buffer; leaves nothing held. */
  private takeHeld(more: Buffer): Buffer {
    const all = this.held.length === 0 ? more : Buffer.concat([...this.held, more]);
    this.held = [];
    this.heldLength = 0;
    return all;
  }

  /**
   * Emits complete lines (the final LF already removed): one message when they fit the
   * limit, else split at line boundaries.
   */
  private emitGroup(body: Buffer, out: DecodedMessage[]): void {
    if (body.length <= this.limit) {
      const piece = this.decodeLine(body);
      // Fits unless control characters or invalid bytes grew into 3-byte U+FFFD.
      if (!piece.truncated) {
        pushMessage(out, piece.text, false);
        return;
      }
    }
    let group: string[] = [];
    let groupBytes = 0;
    const flush = (): void => {
      pushMessage(out, group.join('\n'), false);
      group = [];
      groupBytes = 0;
    };
    const add = (piece: Piece): void => {
      if (piece.truncated) {
        flush();
        pushMessage(out, piece.text, true);
        return;
      }
      if (group.length > 0 && groupBytes + 1 + piece.bytes > this.limit) flush();
      groupBytes += (group.length > 0 ? 1 : 0) + piece.bytes;
      group.push(piece.text);
    };
    for (let from = 0; from <= body.length; ) {
      let to = body.indexOf(LF, from);
      if (to < 0) to = body.length;
      // Only the first limit+1 bytes of a line are decoded: a 1 MB line costs no more than 64 KiB.
      add(this.decodeLine(body.subarray(from, Math.min(to, from + this.limit + 1)), to - from));
      from = to + 1;
    }
    flush();
  }


  /**
   * Decodes one line (no LF inside). `fullLength` is the line's real length when `raw` holds
   * only its start. The result never exceeds the limit in UTF-8 bytes.
   */
  private decodeLine(raw: Buffer, fullLength = raw.length): Piece {
    let truncated = fullLength > this.limit;
    // Cut before decoding so a 1 MB line costs no more than the limit; never inside a character.
    const bytes = truncated ? raw.subarray(0, utf8Boundary(raw, this.limit)) : raw;
    let text = sanitizeForXml(UTF8.decode(bytes));
    let size = Buffer.byteLength(text, 'utf8');
    if (size > this.limit) {
      // Each invalid byte or control character became U+FFFD (3 bytes): trim again.
      text = cutToUtf8Bytes(text, this.limit);
      size = Buffer.byteLength(text, 'utf8');
      truncated = true;
    }
    return { text, bytes: size, truncated };
  }
}

/**
 * The text of one message as a single buffer ending in LF, to be written in ONE write (a
 * reference receiver shows each read as a message, so a split write could split the message).
 * CR LF and lone CR become LF; trailing LFs are removed; inner LFs stay (a multi-line message).
 * Throws a RangeError for a message with nothing to send (a lone LF is ignored by every
 * receiver), and FrameTooLargeError when `maxMessageBytes` is given and exceeded.
 */
export function encodeMessage(text: string, opts: { maxMessageBytes?: number } = {}): Buffer {
  const wire = Buffer.from(normalizeText(text) + '\n', 'utf8');
  const max = opts.maxMessageBytes;
  if (max !== undefined && wire.length - 1 > max) throw new FrameTooLargeError(max, wire.length - 1);
  return wire;
}

/**
 * The text of a message as every link writes it (plain lines or gateway frames): CR LF and lone CR become LF,
 * trailing LFs go. RangeError when nothing is left (a lone LF is ignored by every receiver).
 */
export function normalizeText(text: string): string {
  const normalized = text.replace(/\r\n?/g, '\n');
  let end = normalized.length;
  // A loop, not /\n+$/, which is quadratic on a long run of LFs.
  while (end > 0 && normalized.charCodeAt(end - 1) === LF) end--;
  if (end === 0) throw new RangeError('cannot send an empty message');
  return normalized.slice(0, end);
}

/** A message of nothing but LFs shows nothing to the user (the reference ignores a lone LF). */
function pushMessage(out: DecodedMessage[], text: string, truncated: boolean): void {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== LF) {
      out.push({ text, truncated });
      return;
    }
  }
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function stripCR(bytes: Buffer): Buffer {
  let cr = bytes.indexOf(CR);
  if (cr < 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  let from = 0;
  while (cr >= 0) {
    n += bytes.copy(out, n, from, cr);
    from = cr + 1;
    cr = bytes.indexOf(CR, from);
  }
  n += bytes.copy(out, n, from);
  return out.subarray(0, n);
}

/** The largest n <= max such that cutting `bytes` at n does not split a UTF-8 character. */
function utf8Boundary(bytes: Buffer, max: number): number {
  if (max >= bytes.length) return bytes.length;
  // Find the lead byte of the character the last kept byte belongs to (back over at most 3 continuation
  // bytes), and cut before it if the character does not end by `max`. Looking at the byte after the cut
  // instead would split a valid character when a stray continuation byte follows it.
  let lead = max - 1;
  while (lead > max - 4 && lead > 0 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  const b = bytes[lead]!;
  const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return lead + size > max ? lead : max;
}
