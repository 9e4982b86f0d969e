// The user's roster, generated from the peer network: get with versioning, set, remove, pushes.
// RFC 6121 §2 (roster management), §2.6 (roster versioning).
import { createHash, randomUUID } from 'node:crypto';
import type { Contact, PeerId } from '../bridge/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, FeatureContext } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { parseJid, peerBareJid, peerFullJid, peerIdOf } from './support/peer-jid.js';

const GROUP = 'tlsim';
const GATEWAY_NAME = 'tlsim gateway';
/** The gateway's other local accounts (local mode), like a shared roster group. */
const LOCAL_GROUP = 'This gateway';

export const roster: Feature = {
  name: 'roster',
  disco: { server: [NS.roster] },
  setup(ctx) {
    const { identity, network } = ctx;

    const itemOf = (c: Contact): Element =>
      // COMPAT(pidgin): 'both', never 'to'/'from'/ask: otherwise an offline buddy shows "Not Authorized".
      x('item', { jid: peerBareJid(identity, c.id), name: c.name, subscription: 'both' }, x('group', null, GROUP));
    const removalOf = (id: PeerId): Element => x('item', { jid: peerBareJid(identity, id), subscription: 'remove' });
    const localItemOf = (bare: string): Element =>
      x('item', { jid: bare, name: bare.split('@')[0], subscription: 'both' }, x('group', null, LOCAL_GROUP));

    /** The whole roster: the gateway contact first, then contacts in a stable order. */
    const items = (): Element[] => [
      x('item', { jid: identity.domain, name: GATEWAY_NAME, subscription: 'both' }, x('group', null, GROUP)),
      ...network
        .listContacts()
        .filter((c) => c.state === 'contact')
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(itemOf),
      ...(ctx.local?.others() ?? []).map(localItemOf),
    ];

    // The version is a digest of the roster itself: it changes exactly when the roster does,
    // needs no counter to keep, and survives restarts.
    const versionOf = (list: Element[]): string =>
      createHash('sha256').update(list.map(String).join('\n')).digest('hex').slice(0, 16);

    ctx.iq('account', 'get', NS.roster, 'query', (req) => {
      const list = items();
      const ver = versionOf(list);
      // RFC 6121 §2.6.3: the client's cached roster is current: an empty result, pushes follow.
      if (req.payload.attr('ver') === ver) return undefined;
      // COMPAT(pidgin): the core replies without a `from`; a roster result from the domain is a "bogon".
      return x('query', { xmlns: NS.roster, ver }, ...list);
    });

    ctx.iq('account', 'set', NS.roster, 'query', async (req) => {
      const given = req.payload.getChildren('item');
      if (given.length !== 1) throw new StanzaError('bad-request', 'a roster set carries exactly one item');
      await applySet(ctx, given[0]!);
      // The roster push comes from the network's onContactChanged/onContactRemoved event below.
      return undefined;
    });

    const push = (item: Element): void => {
      const ver = versionOf(items());
      for (const session of ctx.sessions()) {
        // No `from`: a push from anyone but the user's own account is ignored by clients (RFC 6121 §2.1.6).
        session.send(
          x('iq', { type: 'set', id: `push-${randomUUID()}`, to: session.jid.toString() }, x('query', { xmlns: NS.roster, ver }, item)),
        );
      }
    };

    // COMPAT(libpurple, bitlbee): presence from a JID that has already left the roster is
    // ignored, so a leaving contact is shown unavailable first, then removed (RFC 6121 §2.5.2
    // has the server send that unavailable presence anyway).
    const leave = (id: PeerId): void => {
      ctx.deliver(x('presence', { from: peerFullJid(identity, id), to: identity.user.toString(), type: 'unavailable' }));
      push(removalOf(id));
    };
    // Requested and blocked peers are not roster items: for them a change is a removal.
    ctx.onNetwork('onContactChanged', (c) => (c.state === 'contact' ? push(itemOf(c)) : leave(c.id)));
    ctx.onNetwork('onContactRemoved', leave);
    // Another local account added or removed while the gateway runs (its sessions have ended by then).
    ctx.local?.onChange((bare, change) => push(change === 'added' ? localItemOf(bare) : x('item', { jid: bare, subscription: 'remove' })));
  },
};

async function applySet(ctx: FeatureContext, item: Element): Promise<void> {
  const { identity, network } = ctx;
  const jid = parseJid(item.attr('jid'));
  if (!jid) throw new StanzaError('jid-malformed', 'the item has no valid jid');
  const removing = item.attr('subscription') === 'remove';

  if (jid.toString() === identity.domain) {
    // Moving or renaming the gateway contact changes nothing; it cannot leave the roster.
    if (removing) throw new StanzaError('not-allowed', 'the tlsim gateway contact cannot be removed');
    return;
  }
  if (!jid.resource && ctx.local?.others().includes(jid.toString())) {
    // The gateway's other accounts are in every roster: renaming or moving one changes nothing here.
    if (removing) throw new StanzaError('not-allowed', 'the accounts of this gateway are in every roster');
    return;
  }
  const id = peerIdOf(identity, jid);
  if (!id || jid.resource) {
    throw new StanzaError('not-acceptable', `only tlsim peers can be contacts: <fingerprint>@${identity.peerDomain}`);
  }

  const existing = network.getContact(id);
  if (removing) {
    // RFC 6121 §2.5.3: removing an item that is not in the roster is item-not-found.
    if (existing?.state !== 'contact') throw new StanzaError('item-not-found', 'not in the roster');
    await network.removeContact(id);
    return;
  }

  const name = item.attr('name')?.trim() || undefined;
  if (!existing) {
    // A peer never seen needs an address; the network reports that as a notice, not as an error here.
    await network.addContact(id, name ? { name } : {});
    return;
  }
  if (existing.state === 'blocked') throw new StanzaError('not-allowed', 'this peer is blocked: unblock it first');
  // Adding a peer that asked to talk means accepting the request.
  if (existing.state === 'requested') await network.answerRequest(id, true);
  if (name && name !== existing.name) await network.renameContact(id, name);
}
