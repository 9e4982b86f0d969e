// Building replies and errors for stanzas (RFC 6120 §8.2.3 iq semantics, §8.3 stanza errors).
import { STANZAS_NS, STREAMS_NS, StanzaError, type StreamError } from './errors.js';
import { Element, x } from './xml/element.js';

export const CLIENT_NS = 'jabber:client';
export const STREAM_NS = 'http://etherx.jabber.org/streams';

export type StanzaKind = 'iq' | 'message' | 'presence';

/** XEP-0359 unique and stable stanza ids. */
export const SID_NS = 'urn:xmpp:sid:0';

/** Removes every <stanza-id/> that claims to come from `by` (XEP-0359 §4: the archive's own ids are never taken from a sender). */
export function stripOwnStanzaIds(stanza: Element, by: string): void {
  const own = by.toLowerCase();
  const keep = stanza.children.filter(
    (c) => typeof c === 'string' || !(c.name === 'stanza-id' && c.getNS() === SID_NS && (c.attrs.by ?? '').toLowerCase() === own),
  );
  if (keep.length !== stanza.children.length) stanza.children.splice(0, stanza.children.length, ...keep);
}

export function stanzaKind(el: Element): StanzaKind | undefined {
  const ns = el.getNS();
  // RFC 7395 clients must declare jabber:client; a missing namespace is tolerated.
  if (ns !== CLIENT_NS && ns !== undefined && ns !== '') return undefined;
  return el.name === 'iq' || el.name === 'message' || el.name === 'presence' ? el.name : undefined;
}

export function errorElement(err: StanzaError): Element {
  return x(
    'error',
    { type: err.type },
    x(err.condition, { xmlns: STANZAS_NS }),
    err.text ? x('text', { xmlns: STANZAS_NS, 'xml:lang': 'en' }, err.text) : undefined,
    err.app && x(err.app.name, { ...err.app.attrs, xmlns: err.app.ns }, ...(err.app.children ?? []).map((c) => c.clone())),
  );
}

/**
 * The error reply to a stanza: addressed back to its sender, `from` = what the sender
 * addressed (absent when it addressed nobody). Messages keep their payload so the
 * client can tell which one failed; iqs do not need it.
 */
export function errorReply(stanza: Element, err: StanzaError, to: string | undefined): Element {
  const reply = x(stanza.name, { type: 'error', id: stanza.attrs.id, from: stanza.attrs.to, to });
  if (stanza.name === 'message') {
    for (const child of stanza.elements()) if (child.name !== 'error') reply.append(child.clone());
  }
  return reply.append(errorElement(err));
}

/** The result reply to an iq request, with an optional payload. */
export function iqResult(request: Element, payload: Element | undefined, to: string | undefined): Element {
  return x('iq', { type: 'result', id: request.attrs.id, from: request.attrs.to, to }, payload);
}

/** A stream error element, `<stream:error>` once serialized by the framing. */
export function streamErrorElement(err: StreamError): Element {
  return x(
    'error',
    { xmlns: STREAM_NS },
    x(err.condition, { xmlns: STREAMS_NS }),
    err.text ? x('text', { xmlns: STREAMS_NS, 'xml:lang': 'en' }, err.text) : undefined,
  );
}

export function asStanzaError(err: unknown): StanzaError | undefined {
  return err instanceof StanzaError ? err : undefined;
}
