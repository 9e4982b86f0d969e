// One-to-one chat between the user and peers, gateway notices and storage while the user
// is offline. RFC 6121 §5; XEP-0085 (states going out); XEP-0184, XEP-0333 (requests and answers
// going out); XEP-0203 (delay); XEP-0359 (the archive's ids).
//
// One message handler exists per addressee kind, so everything the user sends to a contact
// goes through here, chat states, receipts and markers included (network.sendChatState,
// network.sendMarker; to gateway contacts only). xep-0085-chat-states.ts, xep-0184-receipts.ts and
// xep-0333-chat-markers.ts declare the disco features and carry the peers' states and answers to the user.
import { randomUUID } from 'node:crypto';
import type { ChatState, PeerId } from '../bridge/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import { SID_NS, errorReply } from '../xmpp/stanza.js';
import { conferenceDomain, type Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { markersOf, requestElements, requestsOf } from './support/message-meta.js';
import { NS } from './support/ns.js';
import { peerFullJid } from './support/peer-jid.js';
import { archiveIds, shownText } from './support/archived-message.js';
import { offeredFile, oobFor, sendOfferedFile } from './support/file-messages.js';
import { directInvitation, inviteToRoom } from './support/room-invites.js';

const CHAT_STATES: ReadonlySet<string> = new Set<ChatState>(['active', 'composing', 'paused', 'inactive', 'gone']);

export const messages: Feature = {
  name: 'messages',
  setup(ctx) {
    const { identity, network } = ctx;
    const user = identity.user.toString();
    // Contacts the user was told are offline: one notice per absence, not one per message.
    const toldQueued = new Set<PeerId>();

    const delay = (stamp: Date): Element => x('delay', { xmlns: NS.delay, from: identity.domain, stamp: stamp.toISOString() });
    const chat = (from: string, to: string, text: string): Element =>
      x('message', { type: 'chat', id: randomUUID(), from, to }, x('body', null, text));

    /** Kept until the next login (across restarts), stamped with the time it arrived unless it already has a stamp. */
    const keep = (msg: Element): void => {
      if (!msg.getChild('delay', NS.delay)) msg.append(delay(new Date()));
      ctx.offline.keep(msg);
    };
    /** To every available session, or kept. */
    const toUser = (msg: Element): void => {
      if (ctx.deliver(msg) === 0) keep(msg);
    };
    // A message a client never acknowledged (XEP-0198) before its last session ended.
    // Chat states alone are stale by the next login: only messages with a body are kept.
    ctx.on('message-undelivered', (msg) => {
      if (msg.getChild('body')) keep(msg);
    });

    ctx.on('initial-presence', (session) => {
      // As Prosody's mod_mam: a client that synced from the archive has these already; they wait for one that did not.
      if (session.archiveQueried) return;
      // RFC 6121 §8.5.2.2, XEP-0160 §3: a resource with a negative priority never gets what waits for the user.
      if (session.priority < 0) return;
      // Counted with the box (whoever kept what), so a restart since does not lose the notice.
      const dropped = ctx.offline.takeDropped();
      if (dropped > 0) session.send(chat(identity.domain, user, `${dropped} older messages were dropped while you were offline (only ${ctx.offline.limit} are kept).`));
      for (const msg of ctx.offline.takeAll()) ctx.deliverStored(session, msg);
    });

    ctx.onNetwork('onText', (id, m) => {
      const text = shownText(m.text, m.truncated === true);
      const gateway = network.getContact(id)?.gateway === true;
      const msg = x(
        'message',
        // The sending gateway's id, when there is one: the user's client names it in its receipts and markers.
        { type: 'chat', id: m.id ?? m.stanzaId ?? randomUUID(), from: peerFullJid(identity, id), to: user },
        x('body', null, text),
        // A file a gateway peer sent: its body is our own URL of it (XEP-0066, what clients show as the file).
        oobFor(ctx.files, text),
        ...archiveIds(identity, m.stanzaId),
        // COMPAT(pidgin): a contact message without a chat state turns typing notifications off for that
        // contact, which is right for a reference peer (it never sees them) and wrong for a gateway one.
        gateway && x('active', { xmlns: NS.chatStates }),
        ...(m.id ? requestElements(m.requests) : []),
        m.stamp && delay(m.stamp),
      );
      toUser(msg);
    });
    ctx.onNetwork('onNotice', (text) => toUser(chat(identity.domain, user, text)));
    ctx.onNetwork('onPeerOnline', (id) => void toldQueued.delete(id));

    ctx.message('contact', async (req) => {
      if (req.to.kind !== 'contact') return;
      const type = req.stanza.attr('type');
      // Errors are never answered; group chat does not exist on tlsim.
      if (type === 'error' || type === 'groupchat') return;
      const id = req.to.id;
      const c = network.getContact(id);
      // States, receipts and markers only reach a gateway peer's user; a reference link carries text alone.
      const toGateway = c?.gateway === true && c.state !== 'blocked';
      const state = toGateway ? chatStateOf(req.stanza) : undefined;
      if (toGateway) for (const mk of markersOf(req.stanza)) network.sendMarker(id, mk.marker, mk.id);
      // XEP-0249: a direct invitation into one of our rooms becomes the line with its share string (its body, if any,
      // is only the room's JID, which means nothing on tlsim).
      const invited = directInvitation(req.stanza, conferenceDomain(identity));
      if (invited) return void (await inviteToRoom(network, { ...invited, fingerprint: id, from: identity.user.local ?? 'me' }));
      const body = req.stanza.getChildText('body');
      if (!body) {
        if (state) network.sendChatState(id, state);
        return;
      }
      if (!c) throw new StanzaError('item-not-found', 'not a contact: add the peer to your contacts first');
      if (c.state === 'blocked') throw new StanzaError('not-acceptable', 'this peer is blocked: unblock it to write');
      // A file of ours (XEP-0363 upload): over the link to a gateway peer, never as its URL; one line to a reference peer.
      const offered = offeredFile(ctx.files, req.stanza, body);
      if (offered) {
        req.stanza.append(...archiveIds(identity, await sendOfferedFile(ctx, c, offered, body, req.from.toString(), req.stanza.attr('id'))));
        return;
      }
      const originId = req.stanza.getChild('origin-id', SID_NS)?.attr('id');
      // Requests go with every message: the network asks only a gateway peer (at the link it goes out on).
      const outcome = await network.sendText(id, body, { xmppId: req.stanza.attr('id'), ...(originId && { originId }), ...requestsOf(req.stanza) });
      // Group commit: on disk at the end of this loop turn; should that fail, the message error comes then.
      outcome.kept?.catch((err: unknown) => {
        if (err instanceof StanzaError) ctx.deliver(errorReply(req.stanza, err, req.from.toString()));
      });
      // What later copies of the user's message (carbons) carry, as Prosody does: the archive's id for it.
      req.stanza.append(...archiveIds(identity, outcome.stanzaId));
      if (state) network.sendChatState(id, state);
      if (outcome.status === 'queued' && !toldQueued.has(id)) {
        toldQueued.add(id);
        // Not a message error: the message is not lost, and clients show errors as "delivery failed".
        // A line from the gateway contact is shown by every client and says what really happens;
        // to the device that wrote (RFC 6121 routing might pick another one; carbons copy it).
        ctx.deliver(chat(identity.domain, req.from.toString(), `Not sent yet: ${outcome.reason}`));
      }
    });
  },
};

function chatStateOf(stanza: Element): ChatState | undefined {
  const el = stanza.elements().find((e) => e.getNS() === NS.chatStates && CHAT_STATES.has(e.name));
  return el?.name as ChatState | undefined;
}
