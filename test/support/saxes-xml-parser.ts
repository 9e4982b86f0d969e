// The saxes-based XMPP XML parser that gateway/xmpp/xml/parser.ts was before issue 14's own tokenizer, kept as
// the test oracle (test/fuzz/xml-differential.fuzz.test.ts): the same exports and behaviour, built on saxes.
// Strict streaming XML parser for XMPP (RFC 6120 §4.2, §11 restricted XML; RFC 7395 framing).
import { SaxesParser, type SaxesAttributeNS, type SaxesTagNS } from 'saxes';
import { StreamError, type StreamErrorCondition } from '../../gateway/xmpp/errors.js';
import { Element } from '../../gateway/xmpp/xml/element.js';
import { DEFAULT_XML_LIMITS, framedLimits, streamOpen, type StreamOpen, type XmlLimits, type XmlStreamHandlers } from '../../gateway/xmpp/xml/parser.js';
import type { XmlTag } from '../../gateway/xmpp/xml/tokenizer.js';
import { StanzaMeter } from '../../gateway/xmpp/xml/stanza-meter.js';
import { TreeBuilder } from '../../gateway/xmpp/xml/tree-builder.js';
import { Utf8StreamDecoder } from '../../gateway/xmpp/xml/utf8.js';

export { DEFAULT_XML_LIMITS, type StreamOpen, type XmlLimits, type XmlStreamHandlers };

// Big reads are fed in pieces so the size limit is checked before saxes buffers much more.
const PIECE = 16 * 1024;

/** Maps a saxes well-formedness message to the RFC 6120 §4.9.3 condition. */
function conditionFor(message: string): StreamErrorCondition {
  if (/undefined entity|doctype|processing instruction|entity name/i.test(message)) return 'restricted-xml';
  if (/unbound namespace prefix|prefix must be bound|as prefix/i.test(message)) return 'bad-namespace-prefix';
  return 'not-well-formed';
}

function toStreamError(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StreamError(conditionFor(message), message.replace(/^\d+:\d+: /, ''));
}

/** A saxes tag as the shared TreeBuilder takes it. */
function asTag(tag: SaxesTagNS): XmlTag {
  const attrs = (Object.values(tag.attributes) as SaxesAttributeNS[]).map(({ name, prefix, local, value, uri }) => ({ name, prefix, local, value, uri }));
  return { name: tag.name, prefix: tag.prefix, local: tag.local, uri: tag.uri, attrs, ns: tag.ns };
}

/** Installs the restricted-XML and limit checks common to both parser kinds. */
function strictParser(tree: TreeBuilder): SaxesParser<{ xmlns: true }> {
  const sax = new SaxesParser({ xmlns: true, position: true });
  const restricted = (what: string) => () => {
    throw new StreamError('restricted-xml', `${what} not allowed in XMPP`);
  };
  sax.on('error', (err) => {
    throw toStreamError(err);
  });
  sax.on('doctype', restricted('DOCTYPE'));
  sax.on('comment', restricted('comments are'));
  sax.on('processinginstruction', restricted('processing instructions are'));
  sax.on('xmldecl', (decl) => {
    if (decl.encoding !== undefined && decl.encoding.toUpperCase() !== 'UTF-8') {
      throw new StreamError('unsupported-encoding', `encoding ${decl.encoding}`);
    }
  });
  sax.on('opentagstart', () => tree.startTag());
  sax.on('attribute', () => tree.countAttribute());
  return sax;
}

/**
 * Parser for one TCP XML stream: emits the root's start tag, each complete depth-1
 * element, and the root's end. Make a new one for each stream restart.
 */
export class XmlStreamParser {
  private readonly decoder = new Utf8StreamDecoder();
  private readonly sax: SaxesParser<{ xmlns: true }>;
  private readonly tree: TreeBuilder;
  private readonly limits: XmlLimits;
  private opened = false;
  private closed = false;
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
    this.sax = strictParser(this.tree);
    this.sax.on('opentag', (tag) => {
      if (!this.opened) {
        this.opened = true;
        this.meter.boundary(this.sax.position, false);
        this.handlers.open(streamOpen(asTag(tag)));
        return;
      }
      this.tree.open(asTag(tag));
    });
    this.sax.on('text', (t) => {
      if (this.tree.depth > 0) this.tree.text(t);
      // After the root's end it is saxes's own error, which a read ending inside the text reports first.
      else if (this.closed && t.trim() !== '') throw new StreamError('not-well-formed', 'text data outside of root node');
      else if (this.opened && t.trim() !== '') throw new StreamError('bad-format', 'text between stanzas');
    });
    this.sax.on('cdata', (t) => {
      if (this.tree.depth > 0) this.tree.text(t);
      else throw new StreamError('bad-format', 'CDATA between stanzas');
    });
    this.sax.on('closetag', () => {
      if (this.tree.depth === 0) {
        this.closed = true;
        this.handlers.close();
        return;
      }
      const el = this.tree.close();
      if (el) {
        this.meter.boundary(this.sax.position, true);
        this.handlers.element(el);
      }
    });
  }

  private readonly parse = (piece: string): void => void this.sax.write(piece);

  /** Feeds one read. Throws StreamError (and keeps throwing it) on bad input. */
  write(chunk: Uint8Array | string): void {
    if (this.failure) throw this.failure;
    try {
      const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk);
      for (let i = 0; i < text.length; i += PIECE) this.meter.feed(text.slice(i, i + PIECE), this.parse);
    } catch (err) {
      this.failure = toStreamError(err);
      throw this.failure;
    }
  }
}

/**
 * Parses one complete element standalone (an RFC 7395 WebSocket message): the root
 * element is returned with its namespace as `xmlns`. Throws StreamError.
 */
export function parseFramedElement(message: string, limits: Partial<XmlLimits> = {}): Element {
  const tree = new TreeBuilder(framedLimits(message, limits));
  const sax = strictParser(tree);
  let result: Element | undefined;
  sax.on('opentag', (tag) => tree.open(asTag(tag)));
  sax.on('text', (t) => tree.text(t));
  sax.on('cdata', (t) => tree.text(t));
  sax.on('closetag', () => {
    const el = tree.close();
    if (el) result = el;
  });
  try {
    sax.write(message).close();
  } catch (err) {
    throw toStreamError(err);
  }
  if (!result) throw new StreamError('not-well-formed', 'no element in message');
  return result;
}
