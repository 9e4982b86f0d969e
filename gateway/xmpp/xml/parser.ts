// Strict streaming XML parser for XMPP (RFC 6120 §4.2, §11 restricted XML; RFC 7395 framing), on our own
// tokenizer (tokenizer.ts). Pure: bytes in, stream events out; no sockets, timers or logging.
// Errors are thrown as StreamError from write(), and the parser stays failed afterwards.
import { StreamError } from '../errors.js';
import { Element } from './element.js';
import { XmlTokenizer, type TokenHandlers, type XmlTag } from './tokenizer.js';
import { Utf8StreamDecoder } from './utf8.js';

export interface XmlLimits {
  /** Bytes fed while inside one top-level element (and between two of them). */
  maxStanzaBytes: number;
  /** Nesting depth of a stanza, the stanza itself being depth 1. */
  maxDepth: number;
  maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxStanzaBytes: 256 * 1024, maxDepth: 64, maxAttributes: 64 };

/** The stream root's start tag (`<stream:stream …>`), as the parser saw it. */
export interface StreamOpen {
  local: string;
  prefix: string;
  /** Namespace URI of the root element itself. */
  ns: string;
  /** The default namespace in scope on the root ('' when none was declared). */
  defaultNs: string;
  /** Attributes other than namespace declarations (`xml:lang` keeps its qualified name). */
  attrs: Record<string, string>;
}

export interface XmlStreamHandlers {
  open(open: StreamOpen): void;
  element(el: Element): void;
  close(): void;
}

// Big reads are fed in pieces so the size limit is checked before the tokenizer holds much more.
const PIECE = 16 * 1024;

function toStreamError(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  // Not reachable from input (the tokenizer throws StreamError only), but a stream ends cleanly whatever it was.
  return new StreamError('not-well-formed', err instanceof Error ? err.message : String(err));
}

/** Builds normalized Elements from tags: local names, xmlns only where it changes. */
class TreeBuilder {
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

function checkEncoding(encoding: string | undefined): void {
  if (encoding !== undefined && encoding.toUpperCase() !== 'UTF-8') {
    throw new StreamError('unsupported-encoding', `encoding ${encoding}`);
  }
}

/**
 * Parser for one TCP XML stream: emits the root's start tag, each complete depth-1
 * element, and the root's end. Make a new one for each stream restart.
 */
export class XmlStreamParser {
  private readonly decoder = new Utf8StreamDecoder();
  private readonly tok: XmlTokenizer;
  private readonly tree: TreeBuilder;
  private readonly limits: XmlLimits;
  private opened = false;
  private failure: StreamError | undefined;
  private totalBytes = 0;
  private boundaryBytes = 0;
  private charsBeforePiece = 0;
  private bytesBeforePiece = 0;
  private piece = '';
  /** The last boundary inside the current piece (chars into it, and total bytes there): the next one counts on from it. */
  private markChars = 0;
  private markBytes = 0;

  constructor(
    private readonly handlers: XmlStreamHandlers,
    limits: Partial<XmlLimits> = {},
  ) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...limits };
    // The stream root is handled apart and never enters the tree: depth 1 is a stanza.
    this.tree = new TreeBuilder(this.limits);
    const tree = this.tree;
    const events: TokenHandlers = {
      tagStart: () => tree.startTag(),
      attribute: () => tree.countAttribute(),
      xmlDecl: checkEncoding,
      openTag: (tag) => {
        if (!this.opened) {
          this.opened = true;
          this.markBoundary();
          this.handlers.open(streamOpen(tag));
          return;
        }
        tree.open(tag);
      },
      // Text inside the root: a stanza's, or between stanzas (outside the root the tokenizer refuses it).
      text: (t) => {
        if (tree.depth > 0) tree.text(t);
        else if (t.trim() !== '') throw new StreamError('bad-format', 'text between stanzas');
      },
      cdata: (t) => {
        if (tree.depth > 0) tree.text(t);
        else throw new StreamError('bad-format', 'CDATA between stanzas');
      },
      closeTag: () => {
        if (tree.depth === 0) {
          this.handlers.close();
          return;
        }
        const el = tree.close();
        if (el) {
          this.markBoundary(true);
          this.handlers.element(el);
        }
      },
    };
    this.tok = new XmlTokenizer(events);
  }

  /** Feeds one read. Throws StreamError (and keeps throwing it) on bad input. */
  write(chunk: Uint8Array | string): void {
    if (this.failure) throw this.failure;
    try {
      const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk);
      if (text.length <= PIECE) this.feed(text);
      else for (let i = 0; i < text.length; i += PIECE) this.feed(text.slice(i, i + PIECE));
    } catch (err) {
      this.failure = toStreamError(err);
      throw this.failure;
    }
  }

  private feed(piece: string): void {
    const bytes = Buffer.byteLength(piece);
    this.piece = piece;
    this.bytesBeforePiece = this.totalBytes;
    this.markChars = 0;
    this.markBytes = this.totalBytes;
    this.totalBytes += bytes;
    this.tok.write(piece);
    this.charsBeforePiece += piece.length;
    this.checkSize(this.totalBytes - this.boundaryBytes);
  }

  /** Called at the end of a top-level element: the next stanza's bytes start right after it. */
  private markBoundary(stanzaEnd = false): void {
    const idx = Math.max(0, Math.min(this.piece.length, this.tok.position - this.charsBeforePiece));
    // Counted from the previous boundary in this piece, not from its start: many stanzas in one read stay linear.
    const boundary =
      idx >= this.markChars
        ? this.markBytes + byteLength(this.piece, this.markChars, idx)
        : this.bytesBeforePiece + byteLength(this.piece, 0, idx);
    this.markChars = idx;
    this.markBytes = boundary;
    // A stanza that starts and ends inside one piece is only measurable here.
    if (stanzaEnd) this.checkSize(boundary - this.boundaryBytes);
    this.boundaryBytes = boundary;
  }

  private checkSize(bytes: number): void {
    if (bytes > this.limits.maxStanzaBytes) {
      throw new StreamError('policy-violation', `stanza larger than ${this.limits.maxStanzaBytes} bytes`);
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

function streamOpen(tag: XmlTag): StreamOpen {
  const attrs: Record<string, string> = {};
  for (const a of tag.attrs) {
    if (a.name === 'xmlns' || a.prefix === 'xmlns') continue;
    attrs[a.name] = a.value;
  }
  const defaultNs = tag.ns?.[''] ?? (tag.prefix === '' ? tag.uri : '');
  return { local: tag.local, prefix: tag.prefix, ns: tag.uri, defaultNs, attrs };
}

/**
 * Parses one complete element standalone (an RFC 7395 WebSocket message): the root
 * element is returned with its namespace as `xmlns`. Throws StreamError.
 */
export function parseFramedElement(message: string, limits: Partial<XmlLimits> = {}): Element {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  if (Buffer.byteLength(message) > lim.maxStanzaBytes) {
    throw new StreamError('policy-violation', `message larger than ${lim.maxStanzaBytes} bytes`);
  }
  const tree = new TreeBuilder(lim);
  let result: Element | undefined;
  const tok = new XmlTokenizer({
    tagStart: () => tree.startTag(),
    attribute: () => tree.countAttribute(),
    xmlDecl: checkEncoding,
    openTag: (tag) => tree.open(tag),
    text: (t) => tree.text(t),
    cdata: (t) => tree.text(t),
    closeTag: () => {
      const el = tree.close();
      if (el) result = el;
    },
  });
  try {
    tok.write(message);
    tok.end();
  } catch (err) {
    throw toStreamError(err);
  }
  if (!result) throw new StreamError('not-well-formed', 'no element in message');
  return result;
}
