// Contacts' presence and subscriptions: initial presence, probes, peers coming and going,
// friend requests. RFC 6121 §3 (subscriptions), §4 (presence); XEP-0115 caps; XEP-0172 nick.
import type { Contact, PeerId } from '../bridge/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, FeatureContext, StanzaContext } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { capsElement, lazyContactClasses } from './support/contact-caps.js';
import { NS } from './support/ns.js';
import { peerBareJid, peerFullJid } from './support/peer-jid.js';

export const presence: Feature = {
  name: 'presence',
  setup(ctx) {
    const { identity, network } = ctx;
    const user = identity.user.toString();
    const classes = lazyContactClasses(ctx);

    /**
     * A contact's presence from its one full JID (see CONTACT_RESOURCE): caps of its class while online
     * (a peer found to be a gateway at a new link is announced with the new caps), no status.
     */
    const presenceOf = (id: PeerId, to: string): Element => {
      const c = network.getContact(id);
      const from = peerFullJid(identity, id);
      return c?.state === 'contact' && c.online
        ? x('presence', { from, to }, capsElement(classes().of(c).ver))
        : x('presence', { from, to, type: 'unavailable' });
    };
    /** The gateway contact is there whenever the gateway is. */
    const gatewayPresence = (to: string): Element => x('presence', { from: identity.domain, to });
    const requestOf = (id: PeerId, to: string, nick: string | undefined): Element =>
      x('presence', { type: 'subscribe', from: peerBareJid(identity, id), to }, nick && x('nick', { xmlns: NS.nick }, nick));

    // Also covers clients that send presence before asking for the roster (COMPAT(dino)):
    // the contacts' presence goes out on initial presence, whatever came before.
    ctx.on('initial-presence', (session) => {
      const to = session.jid.toString();
      session.send(gatewayPresence(to));
      for (const c of network.listContacts()) {
        if (c.state === 'contact') session.send(presenceOf(c.id, to));
        // Pending requests live in the network until answered, so they are shown again at every login.
        else if (c.state === 'requested') session.send(requestOf(c.id, to, c.name));
      }
    });

    ctx.onNetwork('onPeerOnline', (id) => void ctx.deliver(presenceOf(id, user)));
    ctx.onNetwork('onPeerOffline', (id) => void ctx.deliver(presenceOf(id, user)));
    // Runs after the roster push (roster comes first in features/index.ts), so clients know the item.
    ctx.onNetwork('onContactChanged', (c: Contact) => void ctx.deliver(presenceOf(c.id, user)));
    ctx.onNetwork('onContactRemoved', (id) => void ctx.deliver(presenceOf(id, user)));
    ctx.onNetwork('onContactRequest', (id, info) => {
      ctx.deliver(requestOf(id, user, info.name ?? network.getContact(id)?.name));
    });

    ctx.presence('contact', async (req) => {
      if (req.to.kind !== 'contact') return;
      await fromUser(ctx, req, req.to.id, presenceOf);
    });

    ctx.presence('server', (req) => {
      const type = req.stanza.attr('type');
      const to = req.from.toString();
      if (type === 'probe') req.session.send(gatewayPresence(to));
      else if (type === 'subscribe') {
        // The gateway contact is always in the roster with 'both': confirm, as a real contact would.
        req.session.send(x('presence', { type: 'subscribed', from: identity.domain, to }));
        req.session.send(gatewayPresence(to));
      }
      // The user's own presence towards the gateway means nothing to it.
    });
  },
};

/** Presence the user sends to one peer: probes and subscription management. */
async function fromUser(
  ctx: FeatureContext,
  req: StanzaContext,
  id: PeerId,
  presenceOf: (id: PeerId, to: string) => Element,
): Promise<void> {
  const { identity, network } = ctx;
  const type = req.stanza.attr('type');
  const c = network.getContact(id);
  switch (type) {
    case 'probe':
      // RFC 6121 §4.3.2: answered from state; a peer that is not a contact shares no presence.
      req.session.send(
        c?.state === 'contact'
          ? presenceOf(id, req.from.toString())
          : x('presence', { type: 'unsubscribed', from: peerBareJid(identity, id), to: req.from.toString() }),
      );
      return;
    case 'subscribe': {
      // Subscribing to a peer is "add this peer"; contacts are always mutual, so it is approved at once.
      if (c?.state === 'blocked') throw new StanzaError('not-allowed', 'this peer is blocked: unblock it first');
      if (!c) {
        const nick = req.stanza.getChildText('nick', NS.nick)?.trim();
        await network.addContact(id, nick ? { name: nick } : {});
      } else if (c.state === 'requested') {
        await network.answerRequest(id, true);
      }
      const user = identity.user.toString();
      ctx.deliver(x('presence', { type: 'subscribed', from: peerBareJid(identity, id), to: user }));
      ctx.deliver(presenceOf(id, user));
      return;
    }
    case 'subscribed':
      // The user approves a peer's request.
      if (c?.state === 'requested') await network.answerRequest(id, true);
      return;
    case 'unsubscribe':
    case 'unsubscribed':
      // Subscriptions are all-or-nothing here: ending one ends the contact, or denies the request.
      if (c?.state === 'requested') await network.answerRequest(id, false);
      else if (c?.state === 'contact') await network.removeContact(id);
      return;
    default:
      // Directed available/unavailable presence and errors: a tlsim peer has no use for them.
      return;
  }
}
