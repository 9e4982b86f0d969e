// The query form of XEP-0313 (§4.1: with, start, end, before-id, after-id, ids), read the same for the account's
// archive and a room's.
import { StanzaError } from '../../xmpp/errors.js';
import { toJid } from '../../xmpp/router.js';
import type { Element } from '../../xmpp/xml/element.js';
import { DATA_FORMS_NS } from './data-forms.js';
import { NS } from './ns.js';

/** A page without <max/> has this many results; no page has more than MAX_PAGE. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 250;

const FIELDS = new Set(['FORM_TYPE', 'with', 'start', 'end', 'before-id', 'after-id', 'ids']);
// XEP-0082 DateTime: a time zone is required, fractions optional.
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An XEP-0082 DateTime as a Date; undefined for anything else. */
export function xep0082DateTime(v: string): Date | undefined {
  return DATETIME.test(v) && !Number.isNaN(Date.parse(v)) ? new Date(v) : undefined;
}

export interface MamFilters {
  with?: string;
  start?: Date;
  end?: Date;
  beforeId?: string;
  afterId?: string;
  ids?: string[];
}

/** The query's data form: only the fields XEP-0313 defines (another is feature-not-implemented). */
export function mamFilters(query: Element): MamFilters {
  const form = query.getChild('x', DATA_FORMS_NS);
  if (!form) return {};
  const out: MamFilters = {};
  const values = (field: Element) => field.getChildren('value').map((v) => v.text().trim());
  let formType: string | undefined;
  for (const field of form.getChildren('field')) {
    const name = field.attr('var') ?? '';
    if (!FIELDS.has(name)) throw new StanzaError('feature-not-implemented', `unknown query field ${name.slice(0, 100)}`);
    const [v] = values(field);
    if (name === 'FORM_TYPE') formType = v;
    else if (name === 'ids') {
      const ids = values(field).filter(Boolean);
      if (ids.length > MAX_PAGE) throw new StanzaError('policy-violation', `at most ${MAX_PAGE} ids in one query`);
      out.ids = ids;
    } else if (!v) continue;
    else if (name === 'with') {
      out.with = toJid(v).bare().toString();
    } else if (name === 'start' || name === 'end') {
      const at = xep0082DateTime(v);
      if (!at) throw new StanzaError('bad-request', `${name}: not an XEP-0082 date and time: ${v.slice(0, 100)}`);
      out[name] = at;
    } else if (name === 'before-id') out.beforeId = v;
    else out.afterId = v;
  }
  if (formType !== NS.mam) throw new StanzaError('bad-request', `the query form's FORM_TYPE must be ${NS.mam}`);
  return out;
}
