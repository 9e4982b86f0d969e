// Resource binding and the legacy session iq (RFC 6120 §7; RFC 3921 §3, draft-cridland-xmpp-session).
// COMPAT(pidgin): libpurple always sends the session iq after bind and disconnects with
// "Error initializing session" on any error, so it is answered with a result, always.
import { randomBytes } from 'node:crypto';
import { StanzaError } from './errors.js';
import { Element, x } from './xml/element.js';

export const BIND_NS = 'urn:ietf:params:xml:ns:xmpp-bind';
export const SESSION_NS = 'urn:ietf:params:xml:ns:xmpp-session';

export function isBindIq(el: Element): boolean {
  return el.name === 'iq' && el.attrs.type === 'set' && el.getChild('bind', BIND_NS) !== undefined;
}

export function isSessionIq(el: Element): boolean {
  return el.name === 'iq' && el.getChild('session', SESSION_NS) !== undefined;
}

/**
 * The resource to bind: the client's (resourceprep-lite: NFC, no controls, at most
 * 1023 bytes) or a fresh random one. Throws StanzaError('bad-request').
 */
export function chooseResource(iq: Element): string {
  const requested = iq.getChild('bind', BIND_NS)?.getChildText('resource')?.trim();
  if (!requested) return `tlsim-${randomBytes(6).toString('hex')}`;
  const r = requested.normalize('NFC');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(r) || Buffer.byteLength(r) > 1023) {
    throw new StanzaError('bad-request', 'invalid resource');
  }
  return r;
}

export function bindResult(iq: Element, fullJid: string): Element {
  return x('iq', { type: 'result', id: iq.attrs.id }, x('bind', { xmlns: BIND_NS }, x('jid', null, fullJid)));
}

export function sessionResult(iq: Element): Element {
  return x('iq', { type: 'result', id: iq.attrs.id });
}

export function bindFeatures(): Element[] {
  return [x('bind', { xmlns: BIND_NS }), x('session', { xmlns: SESSION_NS }, x('optional'))];
}
