// vCards: the user's own (kept in the store; NICKNAME, FN and DESC are the FOAF profile's), the gateway's and each
// contact's (name + fingerprint). XEP-0054.
import type { PersonProfile, ProfileKey } from '../bridge/contract.js';
import { StoreError } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { parsePayload, serializePayload } from './support/pubsub.js';

const OWN_KEY = 'vcard-temp';

export const vcardTemp: Feature = {
  name: 'vcard-temp',
  disco: { server: [NS.vcard], contact: [NS.vcard] },
  setup(ctx) {
    // COMPAT(pidgin): any error but item-not-found here and Pidgin never publishes its own vCard
    // or avatar; an empty vCard is the answer for "nothing stored yet".
    const directory = ctx.network.directory;
    ctx.iq('account', 'get', NS.vcard, 'vCard', () => {
      const xml = ctx.userData.document(OWN_KEY);
      const card = xml === undefined ? x('vCard', { xmlns: NS.vcard }) : parsePayload(xml);
      return directory ? withProfile(card, directory.profile()) : card;
    });
    ctx.iq('account', 'set', NS.vcard, 'vCard', (req) => {
      // The FOAF profile (issue 13) takes its nick, name and description from the vCard the client edits.
      if (directory) {
        for (const [el, key] of VCARD_PROFILE) directory.setField(key, req.payload.getChildText(el) ?? '');
      }
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

/** vCard elements that are FOAF profile fields (nick, name, description). */
const VCARD_PROFILE: ReadonlyArray<readonly [string, ProfileKey & keyof PersonProfile]> = [
  ['NICKNAME', 'nick'],
  ['FN', 'name'],
  ['DESC', 'description'],
];

/** The stored vCard with the profile's nick, name and description (changed by commands too) in place of its own. */
function withProfile(card: Element, profile: PersonProfile): Element {
  const out = x('vCard', card.attrs);
  for (const c of card.children) {
    if (typeof c === 'string' || !VCARD_PROFILE.some(([el]) => el === c.name)) out.append(typeof c === 'string' ? c : c.clone());
  }
  for (const [el, key] of VCARD_PROFILE) {
    const v = profile[key];
    if (v) out.append(x(el, null, v));
  }
  return out;
}
