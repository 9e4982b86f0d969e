// vCards: the user's own (kept in the store), the gateway's and each contact's (name + fingerprint). XEP-0054.
import { StoreError } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { parsePayload, serializePayload } from './support/pubsub.js';

const OWN_KEY = 'vcard-temp';

export const vcardTemp: Feature = {
  name: 'vcard-temp',
  disco: { server: [NS.vcard], contact: [NS.vcard] },
  setup(ctx) {
    // COMPAT(pidgin): any error but item-not-found here and Pidgin never publishes its own vCard
    // or avatar; an empty vCard is the answer for "nothing stored yet".
    ctx.iq('account', 'get', NS.vcard, 'vCard', () => {
      const xml = ctx.userData.document(OWN_KEY);
      return xml === undefined ? x('vCard', { xmlns: NS.vcard }) : parsePayload(xml);
    });
    ctx.iq('account', 'set', NS.vcard, 'vCard', (req) => {
      // The PHOTO (the avatar Pidgin and Gajim set this way) is the big part: the store's limit applies.
      try {
        ctx.userData.setDocument(OWN_KEY, serializePayload(req.payload));
      } catch (err) {
        if (err instanceof StoreError && err.code === 'too-large') throw new StanzaError('not-acceptable', `vCard too large: ${err.message}`);
        throw err;
      }
      return undefined;
    });

    ctx.iq('server', 'get', NS.vcard, 'vCard', () =>
      x('vCard', { xmlns: NS.vcard }, x('FN', null, 'tlsim gateway'), x('NOTE', null, 'Write "help" to this contact.')),
    );

    ctx.iq('contact', 'get', NS.vcard, 'vCard', (req) => {
      const c = req.to.kind === 'contact' ? ctx.network.getContact(req.to.id) : undefined;
      if (!c) throw new StanzaError('item-not-found', 'not a known peer');
      // Fingerprints are long: the name goes where clients show a person's name.
      return x(
        'vCard',
        { xmlns: NS.vcard },
        x('FN', null, c.name),
        x('NICKNAME', null, c.name),
        x('NOTE', null, `tlsim fingerprint: ${c.id}`),
      );
    });
  },
};
