// What PEP dialogues share: pubsub stanzas as a client writes them, and a client that logs in with
// entity capabilities and answers the gateway's disco#info about them (XEP-0115, XEP-0163 +notify).
import type { Element } from '../../gateway/xmpp/xml/element.js';
import type { TestClient, TestGateway } from './xmpp-harness.js';

export const PUBSUB = 'http://jabber.org/protocol/pubsub';
export const PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
export const DISCO_INFO = 'http://jabber.org/protocol/disco#info';

export function publishOptions(fields: Record<string, string>): string {
  const f = Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join('');
  return (
    `<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>` +
    `<value>http://jabber.org/protocol/pubsub#publish-options</value></field>${f}</x></publish-options>`
  );
}

export function publish(node: string, item: string, opts: { id?: string; options?: Record<string, string> } = {}): string {
  const id = opts.id === undefined ? '' : ` id='${opts.id}'`;
  return `<pubsub xmlns='${PUBSUB}'><publish node='${node}'><item${id}>${item}</item></publish>${opts.options ? publishOptions(opts.options) : ''}</pubsub>`;
}

export function items(node: string, extra: { max?: number; ids?: string[] } = {}): string {
  const max = extra.max === undefined ? '' : ` max_items='${extra.max}'`;
  return `<pubsub xmlns='${PUBSUB}'><items node='${node}'${max}>${(extra.ids ?? []).map((id) => `<item id='${id}'/>`).join('')}</items></pubsub>`;
}

/** The <item/>s of a retrieval result. */
export function itemsOf(reply: Element): Element[] {
  return reply.getChild('pubsub', PUBSUB)?.getChild('items')?.getChildren('item') ?? [];
}

/** The pubsub#errors condition of an error reply. */
export function pubsubErrorOf(reply: Element): string | undefined {
  return reply.getChild('error')?.elements().find((e) => e.getNS() === PUBSUB_ERRORS)?.name;
}

export const isEvent = (node: string) => (el: Element) =>
  el.name === 'message' && el.getChild('event', PUBSUB_EVENT)?.elements().some((c) => c.attrs.node === node) === true;

/**
 * Logs in, sends presence with caps `ver` and answers the gateway's disco#info for it with these
 * +notify nodes, now and whenever asked again. Returns once the first answer is sent (the gateway
 * asks at initial presence).
 */
export async function loginWithCaps(gw: TestGateway, resource: string, notify: string[]): Promise<TestClient> {
  const c = await gw.login({ resource, presence: false });
  // One ver per login, so the gateway asks every time (it remembers answers per ver).
  const ver = `${resource}-${notify.join(',') || 'none'}`;
  c.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://test.example' ver='${ver}'/></presence>`);
  const isQuery = (el: Element) => el.name === 'iq' && el.attrs.type === 'get' && !!el.getChild('query', DISCO_INFO);
  const answer = (query: Element) => {
    const node = query.getChild('query', DISCO_INFO)!.attrs.node;
    const features = notify.map((n) => `<feature var='${n}+notify'/>`).join('');
    c.send(`<iq type='result' id='${query.attrs.id}' to='${query.attrs.from}'><query xmlns='${DISCO_INFO}' node='${node}'><identity category='client' type='pc'/>${features}</query></iq>`);
  };
  answer(await c.next(isQuery));
  // Later questions too (each feature that notifies asks once), as a real client would, until the stream ends.
  void (async () => {
    for (;;) answer(await c.next(isQuery, 600_000));
  })().catch(() => undefined);
  await c.sync();
  return c;
}
