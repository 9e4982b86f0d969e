// The gateway's other local accounts as contacts, like a shared roster on one XMPP server: chat,
// directed presence and presence broadcast between them, offline storage for one who is away.
// RFC 6121 §4.2-§4.6 (presence), §5 and §8.5.2-§8.5.3 (local delivery); XEP-0203 (stamps).
// Every account sees every other one in its roster (rfc6121-roster.ts, group "This gateway",
// subscription both), so no subscription is ever pending; this file moves the stanzas.
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';

/** Message types kept for an account that is offline (RFC 6121 §8.5.2.2.1: not errors, headlines or groupchat). */
const KEPT_TYPES: ReadonlySet<string> = new Set(['chat', 'normal']);

export const localUsers: Feature = {
  name: 'local-users',
  setup(ctx) {
    const local = ctx.local;
    // Transport mode: the user's own server has the other users.
    if (!local) return;

    // Broadcast presence (and a session ending while available) goes to every other account's available sessions.
    ctx.on('presence-broadcast', (session, stanza) => {
      for (const other of local.others()) {
        const copy = stanza.clone();
        copy.attrs.from = session.jid.toString();
        copy.attrs.to = other;
        local.deliver(copy);
      }
    });

    // At login the session learns who of this gateway is online (as after the server's probes, RFC 6121 §4.2.2).
    ctx.on('initial-presence', (session) => {
      for (const p of local.presences(session.jid.toString())) session.send(p);
    });

    ctx.presence('local', (req) => {
      if (req.to.kind !== 'local') return;
      const from = req.from.toString();
      const type = req.stanza.attr('type');
      switch (type) {
        case 'probe':
          for (const p of local.presences(from, req.to.jid)) req.session.send(p);
          return;
        case 'subscribe':
          // Everyone here is subscribed both ways already: confirm, as for the gateway contact.
          req.session.send(x('presence', { type: 'subscribed', from: req.to.jid, to: from }));
          for (const p of local.presences(from, req.to.jid)) req.session.send(p);
          return;
        case 'subscribed':
        case 'unsubscribe':
        case 'unsubscribed':
          // Shared-roster subscriptions cannot be changed by one side.
          return;
        default:
          // Directed presence (available, unavailable) and presence errors reach the account as they are.
          local.deliver(req.stanza);
      }
    });

    ctx.message('local', (req) => {
      if (req.to.kind !== 'local') return;
      const type = req.stanza.attr('type') ?? 'normal';
      if (local.deliver(req.stanza) > 0) return;
      // Nobody of that account is online: chat and normal messages with a body wait for its next login;
      // chat states, headlines and errors are stale by then (RFC 6121 §8.5.2.2.1).
      if (KEPT_TYPES.has(type) && req.stanza.getChild('body')) local.keep(req.stanza);
    });

    // A local account answers disco#info like a registered account of this server (clients ask before chat states, files...).
    ctx.iq('local', 'get', NS.discoInfo, 'query', (req) => {
      if (req.payload.attr('node') !== undefined) throw new StanzaError('item-not-found', 'no such node');
      return x('query', { xmlns: NS.discoInfo }, x('identity', { category: 'account', type: 'registered' }), x('feature', { var: NS.discoInfo }));
    });
  },
};
