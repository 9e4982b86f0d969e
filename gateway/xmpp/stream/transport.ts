// What a c2s stream needs from its transport (TCP byte stream or RFC 7395 WebSocket),
// so negotiation and sessions are written once for both.
import type { StreamError } from '../errors.js';
import type { ServerTls } from '../local-ca.js';
import { STREAM_NS } from '../stanza.js';
import { Element } from '../xml/element.js';
import type { StreamOpen } from '../xml/parser.js';

export interface TransportEvents {
  /** A stream header (`<stream:stream>` or `<open/>`) arrived. */
  open(open: StreamOpen): void;
  element(el: Element): void;
  /** The client closed its stream (`</stream:stream>` or `<close/>`). */
  close(): void;
  /** The client sent bad input; the transport stops reading. */
  error(err: StreamError): void;
  /** The transport is gone, for whatever reason. Called exactly once. */
  end(): void;
}

export interface StreamHeaderAttrs {
  id: string;
  from: string;
  to?: string;
  version: string;
  lang: string;
}

export interface StreamTransport {
  readonly kind: 'tcp' | 'websocket';
  /** TLS is up, or the transport is trusted as secure (loopback WebSocket). */
  readonly secure: boolean;
  /** STARTTLS may be offered (TCP only, not yet TLS). */
  readonly canStartTls: boolean;
  readonly remote: string;
  start(events: TransportEvents): void;
  /** Answers a stream header with ours. */
  openStream(attrs: StreamHeaderAttrs): void;
  send(el: Element): void;
  /** A new stream begins on this transport (after STARTTLS or SASL): reset the parser. */
  restart(): void;
  /** Closes our stream and the transport, gracefully. */
  closeStream(): void;
  /** Sends a stream error (after a header if none was sent yet) and closes. */
  streamError(err: StreamError): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  /** Upgrades to TLS in place (STARTTLS); the next bytes are a new stream. */
  startTls?(tls: ServerTls, timeoutMs: number): Promise<void>;
}

/**
 * Serializes a top-level element. Stream-namespace elements get the `stream:` prefix
 * (some clients match the qualified name); `declareAll` is for RFC 7395, where every
 * message must declare its namespaces itself.
 */
export function serializeTop(el: Element, declareAll: boolean): string {
  const ns = el.attrs.xmlns;
  if (ns === STREAM_NS) {
    const { xmlns: _drop, ...rest } = el.attrs;
    const copy = new Element(`stream:${el.name}`, { ...(declareAll ? { 'xmlns:stream': STREAM_NS } : {}), ...rest });
    copy.children.push(...el.children); // shared, not re-parented: only serialized
    return copy.toString();
  }
  if (declareAll && ns === undefined) {
    const copy = new Element(el.name, { ...el.attrs, xmlns: 'jabber:client' });
    copy.children.push(...el.children);
    return copy.toString();
  }
  return el.toString();
}
