// Transport mode: peers in the user's roster on their own server. Where the server granted us
// the user's roster (XEP-0356 privileged entity, roster "set" or "both"), items are written
// directly; otherwise each contact asks with a `subscribe` presence from its JID, the way
// slidge and Spectrum do (RFC 6121 §3.1; XEP-0172 nick): the user accepts once, and a contact
// that leaves takes its subscriptions back (`unsubscribe` + `unsubscribed`, RFC 6121 §3.2–3.3).
import { randomUUID } from 'node:crypto';
import type { Contact, PeerId } from '../bridge/contract.js';
import type { Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { peerBareJid, peerFullJid } from './support/peer-jid.js';

const GROUP = 'tlsim';

/** What the transport tells this feature (featureConfig['component-roster']). */
interface ComponentRosterConfig {
  /** True when the server lets us write the user's roster (XEP-0356). */
  privileged?: () => boolean;
}

export const componentRoster: Feature = {
  name: 'component-roster',
  setup(ctx) {
    const { identity, network } = ctx;
    const toServer = ctx.toServer;
    if (!toServer) throw new Error('component-roster runs only in the transport mode (no toServer)');
    const privileged = (ctx.config as ComponentRosterConfig).privileged ?? (() => false);
    const user = identity.user.toString();
    // Contacts the user's roster has been offered (or written) by us; a restart starts from the store.
    const offered = new Map<PeerId, string>(network.listContacts().filter((c) => c.state === 'contact').map((c) => [c.id, c.name]));

    const rosterSet = (item: Element): void =>
      void toServer(x('iq', { type: 'set', id: `roster-${randomUUID()}`, from: identity.domain, to: user }, x('query', { xmlns: NS.roster }, item)));
    const presence = (type: string, id: PeerId, nick?: string): void =>
      void toServer(x('presence', { type, from: peerBareJid(identity, id), to: user }, nick && x('nick', { xmlns: NS.nick }, nick)));

    const offer = (c: Contact): void => {
      if (privileged()) {
        rosterSet(x('item', { jid: peerBareJid(identity, c.id), name: c.name, subscription: 'both' }, x('group', null, GROUP)));
      } else {
        presence('subscribe', c.id, c.name);
      }
    };
    const retract = (id: PeerId): void => {
      // Shown offline first: some clients ignore presence from a JID that left the roster.
      toServer(x('presence', { type: 'unavailable', from: peerFullJid(identity, id), to: user }));
      if (privileged()) {
        rosterSet(x('item', { jid: peerBareJid(identity, id), subscription: 'remove' }));
      } else {
        presence('unsubscribe', id);
        presence('unsubscribed', id);
      }
    };

    ctx.onNetwork('onContactChanged', (c) => {
      const had = offered.get(c.id);
      if (c.state !== 'contact') {
        if (had !== undefined && offered.delete(c.id)) retract(c.id);
        return;
      }
      offered.set(c.id, c.name);
      if (had === undefined) offer(c);
      // A rename reaches the roster only where we may write it; a subscription cannot carry it.
      else if (had !== c.name && privileged()) offer(c);
    });
    ctx.onNetwork('onContactRemoved', (id) => {
      if (offered.delete(id)) retract(id);
    });
  },
};
