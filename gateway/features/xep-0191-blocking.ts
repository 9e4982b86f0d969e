// Blocking peers: the blocklist, block, unblock (one, several or all), pushes to every session. XEP-0191.
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

    ctx.iq('account', 'get', NS.blocking, 'blocklist', () => x('blocklist', { xmlns: NS.blocking }, ...itemsOf(network.listBlocked())));

    ctx.iq('account', 'set', NS.blocking, 'block', async (req) => {
      const ids = peersIn(req.payload);
      // XEP-0191 §3.3: a block without items is bad-request (unlike unblock, where it means "all").
      if (ids.length === 0) throw new StanzaError('bad-request', 'name at least one peer to block');
      for (const id of ids) await network.block(id);
      push('block', ids);
      return undefined;
    });

    ctx.iq('account', 'set', NS.blocking, 'unblock', async (req) => {
      const ids = peersIn(req.payload);
      const all = ids.length === 0;
      for (const id of all ? network.listBlocked() : ids) await network.unblock(id);
      // An unblock push without items tells the other sessions "everything" (XEP-0191 §3.4).
      push('unblock', all ? [] : ids);
      return undefined;
    });
  },
};
