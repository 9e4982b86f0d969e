// Strict streaming XML parser for XMPP (RFC 6120 §4.2, §11 restricted XML; RFC 7395 framing), on our own
// tokenizer (tokenizer.ts). Pure: bytes in, stream events out; no sockets, timers or logging.
// Errors are thrown as StreamError from write(), and the parser stays failed afterwards.
import { StreamError } from '../errors.js';
import type { Element } from './element.js';
import { XmlTokenizer, type TokenHandlers, type XmlTag } from './tokenizer.js';
import { StanzaMeter } from './stanza-meter.js';
import { TreeBuilder } from './tree-builder.js';
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
  private readonly meter: StanzaMeter;

  constructor(
    private readonly handlers: XmlStreamHandlers,
    limits: Partial<XmlLimits> = {},
  ) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...limits };
    // The stream root is handled apart and never enters the tree: depth 1 is a stanza.
    this.tree = new TreeBuilder(this.limits);
    this.meter = new StanzaMeter(this.limits.maxStanzaBytes);
    const tree = this.tree;
    const events: TokenHandlers = {
      tagStart: () => tree.startTag(),
      attribute: () => tree.countAttribute(),
      xmlDecl: checkEncoding,
      openTag: (tag) => {
        if (!this.opened) {
          this.opened = true;
          this.meter.boundary(this.tok.position, false);
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
          this.meter.boundary(this.tok.position, true);
          this.handlers.element(el);
        }
      },
    };
    this.tok = new XmlTokenizer(events);
  }

  private readonly parse = (piece: string): void => this.tok.write(piece);

  /** Feeds one read. Throws StreamError (and keeps throwing it) on bad input. */
  write(chunk: Uint8Array | string): void {
    if (this.failure) throw this.failure;
    try {
      const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk);
      if (text.length <= PIECE) this.meter.feed(text, this.parse);
      else for (let i = 0; i < text.length; i += PIECE) this.meter.feed(text.slice(i, i + PIECE), this.parse);
    } catch (err) {
      this.failure = toStreamError(err);
      throw this.failure;
    }
  }
}

/** The stream root's start tag as handlers get it (namespace declarations left out). Shared with the test oracle. */
export function streamOpen(tag: XmlTag): StreamOpen {
  const attrs: Record<string, string> = {};
  for (const a of tag.attrs) {
    if (a.name === 'xmlns' || a.prefix === 'xmlns') continue;
    attrs[a.name] = a.value;
  }
  const defaultNs = tag.ns?.[''] ?? (tag.prefix === '' ? tag.uri : '');
  return { local: tag.local, prefix: tag.prefix, ns: tag.uri, defaultNs, attrs };
}

/** The limits for one framed message, refusing it whole when it is larger than a stanza may be. */
export function framedLimits(message: string, limits: Partial<XmlLimits>): XmlLimits {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  if (Buffer.byteLength(message) > lim.maxStanzaBytes) {
    throw new StreamError('policy-violation', `message larger than ${lim.maxStanzaBytes} bytes`);
  }
  return lim;
}

/**
 * Parses one complete element standalone (an RFC 7395 WebSocket message): the root
 * element is returned with its namespace as `xmlns`. Throws StreamError.
 */
export function parseFramedElement(message: string, limits: Partial<XmlLimits> = {}): Element {
  const tree = new TreeBuilder(framedLimits(message, limits));
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
