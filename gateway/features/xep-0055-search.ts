// Find people: user search over the FOAF directory on directory.<domain>, as legacy fields and as a data form.
// XEP-0055 (jabber:iq:search) §2-§3, XEP-0004 (forms, reported/item results); issue 13, README "Find people".
import { createHash } from 'node:crypto';
import type { DirectoryNetwork, DirectoryQuery, DirectoryResult } from '../bridge/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import { directoryDomain, type Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { DATA_FORMS_NS, dataForm, fieldElement, submittedValues, type FormField } from './support/data-forms.js';
import { peerBareJid } from './support/peer-jid.js';
import { NS } from './support/ns.js';
import { discoInfoQuery } from './xep-0030-disco.js';

export const SEARCH_NS = 'jabber:iq:search';
const NAME = 'Find people (FOAF directory)';
const INSTRUCTIONS =
  'Search the profiles your contacts published and the people they list (nick, name, interest, place, or any text). ' +
  'Nearest first; each result gives the share string to add the person.';

const FORM_FIELDS: FormField[] = [
  { var: 'FORM_TYPE', type: 'hidden', value: SEARCH_NS },
  { var: 'nick', type: 'text-single', label: 'Nick' },
  { var: 'name', type: 'text-single', label: 'Name' },
  { var: 'interest', type: 'text-single', label: 'Interest' },
  { var: 'place', type: 'text-single', label: 'Place' },
  { var: 'text', type: 'text-single', label: 'Any text' },
];

/** The columns of a result, in order (XEP-0004 §3.4 reported). */
const REPORTED: FormField[] = [
  { var: 'jid', type: 'jid-single', label: 'JID' },
  { var: 'nick', type: 'text-single', label: 'Nick' },
  { var: 'name', type: 'text-single', label: 'Name' },
  { var: 'share', type: 'text-single', label: 'Share string (add this)' },
  { var: 'distance', type: 'text-single', label: 'Distance (hops)' },
  { var: 'vouchers', type: 'text-single', label: 'Vouched for by' },
  { var: 'interest', type: 'text-single', label: 'Interests' },
  { var: 'place', type: 'text-single', label: 'Place' },
];

export const search: Feature = {
  name: 'search',
  setup(ctx) {
    const directory = ctx.network.directory;
    const service = directoryDomain(ctx.identity);
    if (!directory || !service) return;

    ctx.iq('directory', 'get', NS.discoInfo, 'query', (req) => {
      if (req.payload.attr('node') !== undefined) throw new StanzaError('item-not-found', 'no such node');
      return discoInfoQuery([{ category: 'directory', type: 'user', name: NAME }], [SEARCH_NS, DATA_FORMS_NS, NS.discoInfo]);
    });
    ctx.iq('directory', 'get', NS.discoItems, 'query', () => x('query', { xmlns: NS.discoItems }));

    // §2: the fields to fill in, both as legacy elements and as a form (a client uses the one it knows).
    ctx.iq('directory', 'get', SEARCH_NS, 'query', () =>
      x(
        'query',
        { xmlns: SEARCH_NS },
        x('instructions', null, INSTRUCTIONS),
        x('first'),
        x('last'),
        x('nick'),
        x('email'),
        dataForm('form', { title: NAME, instructions: INSTRUCTIONS, fields: FORM_FIELDS }),
      ),
    );

    ctx.iq('directory', 'set', SEARCH_NS, 'query', (req) => {
      const form = submittedValues(req.payload);
      if (form === 'cancel') return x('query', { xmlns: SEARCH_NS });
      const query = form ? formQuery(form) : legacyQuery(req.payload);
      if (!query) throw new StanzaError('bad-request', 'give at least one search field');
      const results = filterEmail(directory, query, req.payload);
      const jid = (r: DirectoryResult) => peerBareJid(ctx.identity, r.fingerprint);
      const name = (fp: string) => ctx.network.getContact(fp)?.name ?? fp.slice(0, 8);
      return form ? formResults(results, jid, name) : legacyResults(results, jid);
    });
  },
};

function formQuery(values: Record<string, string>): DirectoryQuery | undefined {
  const q: Record<string, string> = {};
  for (const key of ['nick', 'name', 'interest', 'place', 'text'] as const) {
    const v = values[key]?.trim();
    if (v) q[key] = v;
  }
  return Object.keys(q).length ? q : undefined;
}

/**
 * §3 legacy fields: first and last both search the name; email is compared by its SHA-1 (foaf:mbox_sha1sum). Legacy
 * results have no place for the share string: the JID is enough, adding it uses the address the directory knows.
 */
function legacyQuery(payload: Element): DirectoryQuery | undefined {
  const get = (el: string) => payload.getChildText(el)?.trim() || undefined;
  const name = [get('first'), get('last')].filter(Boolean).join(' ') || undefined;
  const q = { ...(get('nick') && { nick: get('nick') }), ...(name && { name }) };
  return Object.keys(q).length || get('email') ? q : undefined;
}

function filterEmail(directory: DirectoryNetwork, q: DirectoryQuery, payload: Element): DirectoryResult[] {
  const email = payload.getChildText('email')?.trim();
  const all = directory.search(q);
  if (!email) return all;
  const sha1 = createHash('sha1').update(`mailto:${email}`).digest('hex');
  return all.filter((r) => r.mboxSha1sum === sha1);
}

function legacyResults(results: DirectoryResult[], jid: (r: DirectoryResult) => string): Element {
  return x(
    'query',
    { xmlns: SEARCH_NS },
    ...results.map((r) => {
      const [first, ...last] = (r.name ?? '').split(' ');
      return x('item', { jid: jid(r) }, x('first', null, first ?? ''), x('last', null, last.join(' ')), x('nick', null, r.nick ?? ''), x('email'));
    }),
  );
}

function formResults(results: DirectoryResult[], jid: (r: DirectoryResult) => string, name: (fp: string) => string): Element {
  const value = (r: DirectoryResult): Record<string, string> => ({
    jid: jid(r),
    nick: r.nick ?? '',
    name: r.name ?? '',
    share: r.share ?? '',
    distance: String(r.distance),
    vouchers: r.vouchers.map(name).join(', '),
    interest: r.interests.join(', '),
    place: r.place ?? '',
  });
  return x(
    'query',
    { xmlns: SEARCH_NS },
    x(
      'x',
      { xmlns: DATA_FORMS_NS, type: 'result' },
      fieldElement({ var: 'FORM_TYPE', type: 'hidden', value: SEARCH_NS }),
      x('reported', null, ...REPORTED.map((f) => x('field', { var: f.var, type: f.type, label: f.label }))),
      ...results.map((r) => {
        const v = value(r);
        return x('item', null, ...REPORTED.map((f) => x('field', { var: f.var }, x('value', null, v[f.var] ?? ''))));
      }),
    ),
  );
}
