// XEP-0356 §7 (privilege:2, the "iq" permission): a request the component makes on a user's behalf to their own
// server, e.g. a publish to their PEP. The server checks the namespace and type it granted and answers for them.
import { randomUUID } from 'node:crypto';
import { x, type Element } from '../../xmpp/xml/element.js';

export const PRIVILEGE_NS = 'urn:xmpp:privilege:2';

/** `payload` as an iq of type `type` from the bare `user` to themselves, wrapped for the server from `component`. */
export function privilegedIq(component: string, user: string, type: 'get' | 'set', payload: Element): Element {
  const id = randomUUID();
  return x('iq', { type, id: `priv-${id}`, from: component, to: user }, x('privileged_iq', { xmlns: PRIVILEGE_NS }, x('iq', { xmlns: 'jabber:client', type, id, from: user, to: user }, payload)));
}
