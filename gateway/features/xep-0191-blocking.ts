// Blocking peers: the blocklist, block, unblock (one, several or all), pushes to every session. XEP-0191.
//
// Pushes follow the network's contact changes, not these iqs: a block made through the text
// bot, an ad-hoc command or the CLI reaches every client's cached blocklist the same way.
import { randomUUID } from 'node:crypto';
import type { PeerId } from '../bridge/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { parseJid, peerBareJid, peerIdOf } from './support/peer-jid.js';

export const blocking: Feature = {
  name: 'blocking',
  // COMPAT(pidgin): without this on the domain, its Block action says "Server doesn't support blocking".
  disco: { server: [NS.blocking] },
  setup(ctx) {
    const { identity, network } = ctx;
    const itemsOf = (ids: PeerId[]): Element[] => ids.map((id) => x('item', { jid: peerBareJid(identity, id) }));

    /** The peers an iq names, all checked before anything is blocked (no half-done requests). */
    const peersIn = (payload: Element): PeerId[] => {
      const ids = payload.getChildren('item').map((item) => {
        const jid = parseJid(item.attr('jid'));
        if (!jid) throw new StanzaError('jid-malformed', 'an item has no valid jid');
        const id = peerIdOf(identity, jid);
        if (!id) throw new StanzaError('not-acceptable', `only tlsim peers can be blocked: <fingerprint>@${identity.peerDomain}`);
        return id;
      });
      return [...new Set(ids)];
    };

    const push = (name: 'block' | 'unblock', ids: PeerId[]): void => {
      for (const session of ctx.sessions()) {
        session.send(
          x('iq', { type: 'set', id: `push-${randomUUID()}`, to: session.jid.toString() }, x(name, { xmlns: NS.blocking }, ...itemsOf(ids))),
        );
      }
    };

    const blocked = new Set(network.listBlocked());
    // While an "unblock all" runs, its one empty push stands for every peer (XEP-0191 §3.4).
    let muted = false;
    const track = (id: PeerId, isBlocked: boolean): void => {
      if (blocked.has(id) === isBlocked) return;
      if (isBlocked) blocked.add(id);
      else blocked.delete(id);
      if (!muted) push(isBlocked ? 'block' : 'unblock', [id]);
    };
    ctx.onNetwork('onContactChanged', (c) => track(c.id, c.state === 'blocked'));
    ctx.onNetwork('onContactRemoved', (id) => track(id, false));

    ctx.iq('account', 'get', NS.blocking, 'blocklist', () => x('blocklist', { xmlns: NS.blocking }, ...itemsOf(network.listBlocked())));

    ctx.iq('account', 'set', NS.blocking, 'block', async (req) => {
      const ids = peersIn(req.payload);
      // XEP-0191 §3.3: a block without items is bad-request (unlike unblock, where it means "all").
      if (ids.length === 0) throw new StanzaError('bad-request', 'name at least one peer to block');
      for (const id of ids) await network.block(id);
      return undefined;
    });

    ctx.iq('account', 'set', NS.blocking, 'unblock', async (req) => {
      const ids = peersIn(req.payload);
      const all = ids.length === 0;
      if (!all) {
        for (const id of ids) await network.unblock(id);
        return undefined;
      }
      muted = true;
      try {
        for (const id of network.listBlocked()) await network.unblock(id);
      } finally {
        muted = false;
      }
      // An unblock push without items tells the other sessions "everything" (XEP-0191 §3.4).
      push('unblock', []);
      return undefined;
    });
  },
};
