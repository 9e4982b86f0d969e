// XEP-0313 queries as a client writes them, for dialogue tests: the form, RSM, flip-page, and the
// results collected from what the client received before the iq reply.
import { randomUUID } from 'node:crypto';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import type { TestClient } from './xmpp-harness.js';

export const MAM = 'urn:xmpp:mam:2';
export const SID = 'urn:xmpp:sid:0';
export const RSM = 'http://jabber.org/protocol/rsm';
const FORWARD = 'urn:xmpp:forward:0';

export interface MamQuery {
  /** Form fields (FORM_TYPE is added); a list is several values (ids). */
  fields?: Record<string, string | string[]>;
  max?: number;
  /** '' = <before/> (the last page). */
  before?: string;
  after?: string;
  index?: number;
  flip?: boolean;
  /** Leave FORM_TYPE out or set another. */
  formType?: string | null;
}

export interface MamResult {
  /** The archive id (<result id>). */
  id: string;
  stamp: string;
  /** The forwarded message. */
  message: Element;
  body: string | undefined;
}

export interface MamAnswer {
  reply: Element;
  results: MamResult[];
  complete: boolean;
  first?: string;
  last?: string;
  count?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

export function mamQueryXml(q: MamQuery, queryid: string): string {
  const fields = Object.entries(q.fields ?? {})
    .map(([k, v]) => `<field var='${esc(k)}'>${(Array.isArray(v) ? v : [v]).map((x) => `<value>${esc(x)}</value>`).join('')}</field>`)
    .join('');
  const formType = q.formType === undefined ? MAM : q.formType;
  const form =
    q.fields || q.formType !== undefined
      ? `<x xmlns='jabber:x:data' type='submit'>${formType === null ? '' : `<field var='FORM_TYPE' type='hidden'><value>${formType}</value></field>`}${fields}</x>`
      : '';
  const set = [
    q.max !== undefined && `<max>${q.max}</max>`,
    q.before !== undefined && (q.before === '' ? '<before/>' : `<before>${esc(q.before)}</before>`),
    q.after !== undefined && `<after>${esc(q.after)}</after>`,
    q.index !== undefined && `<index>${q.index}</index>`,
  ]
    .filter(Boolean)
    .join('');
  return `<query xmlns='${MAM}' queryid='${queryid}'>${form}${set ? `<set xmlns='${RSM}'>${set}</set>` : ''}${q.flip ? '<flip-page/>' : ''}</query>`;
}

/** Runs one query; resolves with the iq reply and the results that came before it. */
export async function mamQuery(c: TestClient, q: MamQuery = {}, to?: string): Promise<MamAnswer> {
  const queryid = randomUUID();
  const seen = c.received.length;
  const reply = await c.iq(mamQueryXml(q, queryid), { type: 'set', ...(to && { to }) });
  const results = c.received
    .slice(seen)
    .filter((el) => el.name === 'message' && el.getChild('result', MAM)?.attrs.queryid === queryid)
    .map((el) => {
      const r = el.getChild('result', MAM)!;
      const fwd = r.getChild('forwarded', FORWARD)!;
      const message = fwd.getChild('message')!;
      return { id: r.attrs.id!, stamp: fwd.getChild('delay')!.attrs.stamp!, message, body: message.getChildText('body') };
    });
  const fin = reply.getChild('fin', MAM);
  const set = fin?.getChild('set', RSM);
  const count = set?.getChildText('count');
  return {
    reply,
    results,
    complete: fin?.attrs.complete === 'true',
    ...(set?.getChildText('first') !== undefined && { first: set.getChildText('first') }),
    ...(set?.getChildText('last') !== undefined && { last: set.getChildText('last') }),
    ...(count !== undefined && { count: Number(count) }),
  };
}
