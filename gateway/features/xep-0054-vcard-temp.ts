// vCards: the user's own (kept in memory), the gateway's and each contact's (name + fingerprint). XEP-0054.
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';

export const vcardTemp: Feature = {
  name: 'vcard-temp',
  disco: { server: [NS.vcard], contact: [NS.vcard] },
  setup(ctx) {
    let own: Element | undefined;

    // COMPAT(pidgin): any error but item-not-found here and Pidgin never publishes its own vCard
    // or avatar; an empty vCard is the answer for "nothing stored yet".
    ctx.iq('account', 'get', NS.vcard, 'vCard', () => own?.clone() ?? x('vCard', { xmlns: NS.vcard }));
    ctx.iq('account', 'set', NS.vcard, 'vCard', (req) => {
      own = x('vCard', { xmlns: NS.vcard }, ...req.payload.children.map((c) => (typeof c === 'string' ? c : c.clone())));
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
