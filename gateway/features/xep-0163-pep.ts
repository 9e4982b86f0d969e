// PEP queries answered "nothing published": contacts have no OMEMO devices or PEP avatars,
// and the account publishes nothing yet. XEP-0163 over XEP-0060 (§6.5 item retrieval).
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';

export const pep: Feature = {
  name: 'pep',
  setup(ctx) {
    // COMPAT(dino): it asks every contact for its OMEMO device list; a quick item-not-found lets
    // it go on instead of waiting (the user then switches the chat to unencrypted).
    for (const kind of ['contact', 'account'] as const) {
      ctx.iq(kind, 'get', NS_PUBSUB, 'pubsub', () => {
        throw new StanzaError('item-not-found', 'nothing is published here');
      });
    }
  },
};
