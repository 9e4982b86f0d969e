// What a chat message carries besides its body, both ways: the sender's requests (XEP-0184 <request/>,
// XEP-0333 <markable/>) and the receipts and chat markers that answer them (XEP-0184 §5.4, XEP-0333 §3).
// rfc6121-messages.ts (the one message handler for contacts) reads and writes them; the receipt and
// marker features relay the peers' answers to the user through relayMarkers(). Features never import
// each other, so it lives here.
import { randomUUID } from 'node:crypto';
import type { Marker, MessageRequests, PeerId } from '../../bridge/contract.js';
import type { FeatureContext } from '../../xmpp/feature.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from './ns.js';
import { peerFullJid } from './peer-jid.js';

/** The element each marker is on the XMPP side: a XEP-0184 receipt, or one of the XEP-0333 markers. */
const MARKER_ELEMENTS: Readonly<Record<Marker, { ns: string; name: string }>> = {
  receipt: { ns: NS.receipts, name: 'received' },
  received: { ns: NS.chatMarkers, name: 'received' },
  displayed: { ns: NS.chatMarkers, name: 'displayed' },
  acknowledged: { ns: NS.chatMarkers, name: 'acknowledged' },
};
const MARKERS = Object.keys(MARKER_ELEMENTS) as Marker[];

/**
 * Receipts and markers kept for a user who is offline, per absence. Each one answers a message the
 * user sent, so a well-behaved peer sends few; the bound keeps a peer that floods them from pushing
 * the user's waiting messages out of the offline box (which keeps OFFLINE_LIMIT stanzas in all).
 */
export const MARKERS_KEPT_LIMIT = 100;

/**
 * What the user's client asks of the peer's client. A receipt or marker names the message by its id
 * (XEP-0184 §5.1: a request without one cannot be answered), so a message without an id asks nothing.
 */
export function requestsOf(stanza: Element): MessageRequests {
  if (!stanza.attr('id')) return {};
  return {
    ...(stanza.getChild('request', NS.receipts) && { receipt: true }),
    ...(stanza.getChild('markable', NS.chatMarkers) && { markable: true }),
  };
}

/** The request elements a peer's message carries to the user's client. */
export function requestElements(requests: MessageRequests | undefined): Element[] {
  return [
    ...(requests?.receipt ? [x('request', { xmlns: NS.receipts })] : []),
    ...(requests?.markable ? [x('markable', { xmlns: NS.chatMarkers })] : []),
  ];
}

/** Receipts and markers in a message from the user's client, each naming the message it answers. */
export function markersOf(stanza: Element): Array<{ marker: Marker; id: string }> {
  const out: Array<{ marker: Marker; id: string }> = [];
  for (const marker of MARKERS) {
    const { ns, name } = MARKER_ELEMENTS[marker];
    const id = stanza.getChild(name, ns)?.attr('id');
    if (id) out.push({ marker, id });
  }
  return out;
}

/**
 * Carries the peers' receipts or markers of the given kinds to the user: each one only as the network
 * reported it (the other gateway's user's client produced it), and only from a gateway contact. Kept
 * for the next login when no session is available: XEP-0184 §5.4 lets receipts be stored offline, and a
 * user back after a while still wants to see which of their messages arrived or were read meanwhile.
 */
export function relayMarkers(ctx: FeatureContext, kinds: readonly Marker[]): void {
  const { identity, network } = ctx;
  const user = identity.user.toString();
  const mine = (msg: Element): boolean => kinds.some((k) => msg.getChild(MARKER_ELEMENTS[k].name, MARKER_ELEMENTS[k].ns));
  let keptThisAbsence = 0;
  const keep = (msg: Element): void => {
    if (keptThisAbsence >= MARKERS_KEPT_LIMIT) {
      ctx.log.debug('too many markers kept for an offline user; dropped');
      return;
    }
    keptThisAbsence++;
    if (!msg.getChild('delay', NS.delay)) msg.append(x('delay', { xmlns: NS.delay, from: identity.domain, stamp: new Date().toISOString() }));
    const pushedOut = ctx.offline.keep(msg);
    if (pushedOut > 0) ctx.log.warn({ pushedOut }, 'the offline box was full: a marker pushed older stanzas out');
  };
  ctx.on('initial-presence', () => void (keptThisAbsence = 0));
  // One a client never acknowledged (XEP-0198) before its session ended waits like one that came while offline
  // (rfc6121-messages.ts keeps the ones with a body; these never have one).
  ctx.on('message-undelivered', (msg) => {
    if (!msg.getChild('body') && mine(msg)) keep(msg);
  });
  ctx.onNetwork('onMarker', (id: PeerId, marker, ref) => {
    if (!kinds.includes(marker) || !ref.xmppId) return;
    // A reference peer cannot answer: whatever claims it did is not shown (never faked, never passed on).
    if (!network.getContact(id)?.gateway) {
      ctx.log.debug({ peer: id.slice(0, 12), marker }, 'marker from a peer that is not a gateway dropped');
      return;
    }
    const { ns, name } = MARKER_ELEMENTS[marker];
    const msg = x('message', { type: 'chat', id: randomUUID(), from: peerFullJid(identity, id), to: user }, x(name, { xmlns: ns, id: ref.xmppId }));
    if (ctx.deliver(msg) === 0) keep(msg);
  });
}
