// Ping: the server, the account, the peer domain and contacts answer. XEP-0199.
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { NS } from './support/ns.js';
import { CONTACT_RESOURCE } from './support/peer-jid.js';

export const ping: Feature = {
  name: 'ping',
  disco: { server: [NS.ping], account: [NS.ping], contact: [NS.ping] },
  setup(ctx) {
    // COMPAT(pidgin): its keepalive ping has no `to`; no answer within 120 s and it disconnects.
    for (const kind of ['server', 'account', 'peers'] as const) ctx.iq(kind, 'get', NS.ping, 'ping', () => undefined);

    ctx.iq('contact', 'get', NS.ping, 'ping', (req) => {
      if (req.to.kind !== 'contact') return undefined;
      const c = ctx.network.getContact(req.to.id);
      // RFC 6121 §8.5.1: an iq to a user who does not exist is service-unavailable (XEP-0199 §4.2).
      if (c?.state !== 'contact') throw new StanzaError('service-unavailable');
      // §8.5.3: a full JID with no available resource behind it, likewise. The bare JID is answered
      // on the contact's behalf; the full JID answers only while the link is up, so a ping
      // to the full JID tells whether the peer is reachable now.
      const resource = req.to.resource;
      if (resource !== undefined && resource !== '' && (resource !== CONTACT_RESOURCE || !c.online)) {
        throw new StanzaError('service-unavailable', 'the peer is not connected');
      }
      return undefined;
    });
  },
};
