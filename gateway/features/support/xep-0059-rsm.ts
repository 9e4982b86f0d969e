// Result Set Management (XEP-0059): reading a request's <set/> and writing the answer's.
import { StanzaError } from '../../xmpp/errors.js';
import { x, type Element } from '../../xmpp/xml/element.js';

export const RSM_NS = 'http://jabber.org/protocol/rsm';

export interface RsmRequest {
  max?: number;
  /** '' = the last page (<before/>), else the id to page back from. */
  before?: string;
  after?: string;
  index?: number;
}

const count = (el: Element | undefined, what: string): number | undefined => {
  if (!el) return undefined;
  const t = el.text().trim();
  if (!/^[0-9]{1,9}$/.test(t)) throw new StanzaError('bad-request', `RSM <${what}/> must be a non-negative integer`);
  return Number(t);
};

/** The request's <set/>, if any; a malformed one is bad-request. */
export function parseRsm(parent: Element): RsmRequest | undefined {
  const set = parent.getChild('set', RSM_NS);
  if (!set) return undefined;
  const before = set.getChild('before');
  const after = set.getChild('after');
  const r: RsmRequest = {};
  const max = count(set.getChild('max'), 'max');
  const index = count(set.getChild('index'), 'index');
  if (max !== undefined) r.max = max;
  if (index !== undefined) r.index = index;
  if (before) r.before = before.text().trim();
  if (after) {
    const a = after.text().trim();
    if (!a) throw new StanzaError('bad-request', 'RSM <after/> needs an id');
    r.after = a;
  }
  return r;
}

/** The answer's <set/>: first (with its index when known) and last of the page, and the total count. */
export function rsmResult(page: { first?: string; last?: string; firstIndex?: number; count?: number }): Element {
  return x(
    'set',
    { xmlns: RSM_NS },
    page.first !== undefined && x('first', { index: page.firstIndex }, page.first),
    page.last !== undefined && x('last', null, page.last),
    page.count !== undefined && x('count', null, String(page.count)),
  );
}
