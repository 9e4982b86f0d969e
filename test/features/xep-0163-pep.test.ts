// PEP dialogues: the user's own PEP service (XEP-0163 over XEP-0060): publish, retrieve, retract,
// publish-options, node configuration, notifications by +notify caps, last items at login, limits;
// and OMEMO device list queries to contacts fail fast with item-not-found (Dino).
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import {
  DISCO_INFO,
  isEvent,
  items,
  itemsOf,
  loginWithCaps,
  publish,
  PUBSUB,
  PUBSUB_EVENT,
  PUBSUB_OWNER,
  pubsubErrorOf,
} from '../support/pep-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const DEVICELIST = 'eu.siacs.conversations.axolotl.devicelist';
const TUNE = 'http://jabber.org/protocol/tune';
const MOOD = 'http://jabber.org/protocol/mood';
const tune = (artist: string) => `<tune xmlns='${TUNE}'><artist>${artist}</artist></tune>`;

describe('pep', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('answers device list queries to contacts with item-not-found, and to the account until something is published', async () => {
    const alice = gw.fake!.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    expect(stanzaErrorOf(await me.iq(items(DEVICELIST), { to: `${alice.id}@${gw.peerDomain}` }))).toBe('item-not-found');
    expect(stanzaErrorOf(await me.iq(items(DEVICELIST)))).toBe('item-not-found');
  });

  it('creates a node on first publish and gives back items: all, the newest n, or by id', async () => {
    const me = await gw.login();
    const config = `<pubsub xmlns='${PUBSUB_OWNER}'><configure node='${TUNE}'/></pubsub>`;
    const first = await me.iq(publish(TUNE, tune('Bach'), { id: 'a', options: { 'pubsub#max_items': '3' } }), { type: 'set' });
    expect(first.attrs.type).toBe('result');
    expect(first.getChild('pubsub', PUBSUB)!.getChild('publish')!.getChild('item')!.attrs.id).toBe('a');
    await me.iq(publish(TUNE, tune('Satie'), { id: 'b' }), { type: 'set' });
    // Without an id, the service makes one and says which.
    const anon = await me.iq(publish(TUNE, tune('Ravel')), { type: 'set' });
    const generated = anon.getChild('pubsub', PUBSUB)!.getChild('publish')!.getChild('item')!.attrs.id!;
    expect(generated).toBeTruthy();

    const all = await me.iq(items(TUNE));
    expect(itemsOf(all).map((i) => i.attrs.id)).toEqual(['a', 'b', generated]);
    expect(itemsOf(all)[0]!.getChild('tune', TUNE)!.getChildText('artist')).toBe('Bach');
    expect(itemsOf(await me.iq(items(TUNE, { max: 1 }))).map((i) => i.attrs.id)).toEqual([generated]);
    expect(itemsOf(await me.iq(items(TUNE, { ids: ['b'] }))).map((i) => i.getChild('tune', TUNE)!.getChildText('artist'))).toEqual(['Satie']);

    // Past max_items the oldest goes; republishing an id replaces it.
    await me.iq(publish(TUNE, tune('Glass'), { id: 'c' }), { type: 'set' });
    await me.iq(publish(TUNE, tune('Bach again'), { id: 'b' }), { type: 'set' });
    const after = itemsOf(await me.iq(items(TUNE)));
    expect(after.map((i) => i.attrs.id)).toEqual([generated, 'c', 'b']);
    expect(after[2]!.getChild('tune', TUNE)!.getChildText('artist')).toBe('Bach again');
    expect((await me.iq(config)).attrs.type).toBe('result');
  });

  it('retracts items, telling clients when asked to, and says item-not-found for what is not there', async () => {
    const me = await gw.login();
    await me.iq(publish(TUNE, tune('Bach'), { id: 'a', options: { 'pubsub#max_items': '5' } }), { type: 'set' });
    await me.iq(publish(TUNE, tune('Satie'), { id: 'b' }), { type: 'set' });
    await me.next(isEvent(TUNE));
    await me.next(isEvent(TUNE));
    const retract = (id: string) => `<pubsub xmlns='${PUBSUB}'><retract node='${TUNE}' notify='true'><item id='${id}'/></retract></pubsub>`;
    expect((await me.iq(retract('a'), { type: 'set' })).attrs.type).toBe('result');
    const ev = await me.next(isEvent(TUNE));
    expect(ev.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('retract')!.attrs.id).toBe('a');
    expect(itemsOf(await me.iq(items(TUNE))).map((i) => i.attrs.id)).toEqual(['b']);
    expect(stanzaErrorOf(await me.iq(retract('a'), { type: 'set' }))).toBe('item-not-found');
    expect(stanzaErrorOf(await me.iq(`<pubsub xmlns='${PUBSUB}'><retract node='nope'><item id='a'/></retract></pubsub>`, { type: 'set' }))).toBe('item-not-found');
  });

  it('honours publish-options: a node made for them, precondition-not-met when they clash, fine after reconfiguring', async () => {
    const me = await gw.login();
    const node = 'urn:xmpp:omemo:2:bundles';
    const opts = { 'pubsub#persist_items': 'true', 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' };
    expect((await me.iq(publish(node, `<bundle xmlns='urn:xmpp:omemo:2'/>`, { id: '1', options: opts }), { type: 'set' })).attrs.type).toBe('result');

    const getConfig = async () => {
      const res = await me.iq(`<pubsub xmlns='${PUBSUB_OWNER}'><configure node='${node}'/></pubsub>`);
      const fields = res.getChild('pubsub', PUBSUB_OWNER)!.getChild('configure')!.getChild('x')!.getChildren('field');
      return Object.fromEntries(fields.map((f) => [f.attrs.var, f.getChildText('value')]));
    };
    expect(await getConfig()).toMatchObject({ 'pubsub#access_model': 'open', 'pubsub#persist_items': '1' });
    expect(Number((await getConfig())['pubsub#max_items'])).toBeGreaterThan(1);

    const clash = await me.iq(publish(node, `<bundle xmlns='urn:xmpp:omemo:2'/>`, { id: '2', options: { 'pubsub#access_model': 'whitelist' } }), { type: 'set' });
    expect(stanzaErrorOf(clash)).toBe('conflict');
    expect(pubsubErrorOf(clash)).toBe('precondition-not-met');

    // What Conversations does next: change the node's configuration, publish again.
    const form =
      `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>` +
      `<field var='pubsub#access_model'><value>whitelist</value></field></x>`;
    expect((await me.iq(`<pubsub xmlns='${PUBSUB_OWNER}'><configure node='${node}'>${form}</configure></pubsub>`, { type: 'set' })).attrs.type).toBe('result');
    expect((await getConfig())['pubsub#access_model']).toBe('whitelist');
    const again = await me.iq(publish(node, `<bundle xmlns='urn:xmpp:omemo:2'/>`, { id: '2', options: { 'pubsub#access_model': 'whitelist' } }), { type: 'set' });
    expect(again.attrs.type).toBe('result');
    expect(itemsOf(await me.iq(items(node))).map((i) => i.attrs.id)).toEqual(['1', '2']);

    const bad = await me.iq(publish(node, `<bundle xmlns='urn:xmpp:omemo:2'/>`, { options: { 'pubsub#access_model': 'roster' } }), { type: 'set' });
    expect(stanzaErrorOf(bad)).toBe('not-acceptable');
    expect(pubsubErrorOf(bad)).toBe('unsupported-access-model');
  });

  it('sends notifications to the clients whose caps ask for the node, and to clients without caps', async () => {
    const wantsTune = await loginWithCaps(gw, 'tune', [TUNE]);
    const wantsMood = await loginWithCaps(gw, 'mood', [MOOD]);
    const noCaps = await gw.login({ resource: 'plain' });
    const notOnline = await gw.login({ resource: 'quiet', presence: false });

    await wantsMood.iq(publish(TUNE, tune('Bach'), { id: 'now' }), { type: 'set' });
    for (const c of [wantsTune, noCaps]) {
      const ev = await c.next(isEvent(TUNE));
      expect(ev.attrs).toMatchObject({ from: gw.userJid, type: 'headline' });
      const item = ev.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('item')!;
      expect(item.attrs.id).toBe('now');
      expect(item.getChild('tune', TUNE)!.getChildText('artist')).toBe('Bach');
    }
    await wantsMood.sync();
    await notOnline.sync();
    expect(wantsMood.received.some(isEvent(TUNE))).toBe(false);
    expect(notOnline.received.some(isEvent(TUNE))).toBe(false);
  });

  it('gives a client coming online the last item of each node it wants', async () => {
    const me = await gw.login();
    await me.iq(publish(TUNE, tune('Bach'), { id: 'old', options: { 'pubsub#max_items': '2' } }), { type: 'set' });
    await me.iq(publish(TUNE, tune('Satie'), { id: 'new' }), { type: 'set' });
    await me.iq(publish(MOOD, `<mood xmlns='${MOOD}'><happy/></mood>`), { type: 'set' });

    const later = await loginWithCaps(gw, 'later', [TUNE]);
    const ev = await later.next(isEvent(TUNE));
    expect(ev.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChildren('item').map((i) => i.attrs.id)).toEqual(['new']);
    await later.sync();
    expect(later.received.some(isEvent(MOOD))).toBe(false);
    // A client without caps named no node: no last items for it (they would include avatars, OMEMO keys).
    const plain = await gw.login({ resource: 'plain' });
    await plain.sync();
    expect(plain.received.some((el) => isEvent(TUNE)(el) || isEvent(MOOD)(el))).toBe(false);
  });

  it('deletes and purges nodes, telling clients', async () => {
    const me = await gw.login();
    await me.iq(publish(TUNE, tune('Bach')), { type: 'set' });
    await me.iq(publish(MOOD, `<mood xmlns='${MOOD}'><sad/></mood>`), { type: 'set' });
    expect((await me.iq(`<pubsub xmlns='${PUBSUB_OWNER}'><purge node='${MOOD}'/></pubsub>`, { type: 'set' })).attrs.type).toBe('result');
    expect(itemsOf(await me.iq(items(MOOD)))).toHaveLength(0);
    expect((await me.iq(`<pubsub xmlns='${PUBSUB_OWNER}'><delete node='${TUNE}'/></pubsub>`, { type: 'set' })).attrs.type).toBe('result');
    const ev = await me.next((el) => el.name === 'message' && !!el.getChild('event', PUBSUB_EVENT)?.getChild('delete'));
    expect(ev.getChild('event', PUBSUB_EVENT)!.getChild('delete')!.attrs.node).toBe(TUNE);
    expect(stanzaErrorOf(await me.iq(items(TUNE)))).toBe('item-not-found');
    expect(stanzaErrorOf(await me.iq(`<pubsub xmlns='${PUBSUB_OWNER}'><delete node='${TUNE}'/></pubsub>`, { type: 'set' }))).toBe('item-not-found');
  });

  it('refuses oversized items, too many items per node, and publishes without a payload, saying why', async () => {
    const me = await gw.login();
    const big = await me.iq(publish(TUNE, `<tune xmlns='${TUNE}'><title>${'x'.repeat(200 * 1024)}</title></tune>`), { type: 'set' });
    expect(stanzaErrorOf(big)).toBe('not-acceptable');
    expect(pubsubErrorOf(big)).toBe('payload-too-big');
    const tooMany = await me.iq(publish(TUNE, tune('Bach'), { options: { 'pubsub#max_items': '100000' } }), { type: 'set' });
    expect(stanzaErrorOf(tooMany)).toBe('not-acceptable');
    const empty = await me.iq(`<pubsub xmlns='${PUBSUB}'><publish node='${TUNE}'><item id='1'/></publish></pubsub>`, { type: 'set' });
    expect(stanzaErrorOf(empty)).toBe('bad-request');
    expect(pubsubErrorOf(empty)).toBe('payload-required');
    const subscribe = await me.iq(`<pubsub xmlns='${PUBSUB}'><subscribe node='${TUNE}' jid='${gw.userJid}'/></pubsub>`, { type: 'set' });
    expect(stanzaErrorOf(subscribe)).toBe('feature-not-implemented');
    // Nothing of it was stored.
    expect(stanzaErrorOf(await me.iq(items(TUNE)))).toBe('item-not-found');
  });

  it('shows itself in disco: pubsub/pep on the domain and the account, what works, and the nodes', async () => {
    const me = await gw.login();
    await me.iq(publish(TUNE, tune('Bach')), { type: 'set' });
    for (const to of [gw.domain, undefined]) {
      const info = await me.iq(`<query xmlns='${DISCO_INFO}'/>`, to ? { to } : {});
      const ids = info.getChild('query', DISCO_INFO)!.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`);
      expect(ids).toContain('pubsub/pep');
    }
    const account = await me.iq(`<query xmlns='${DISCO_INFO}'/>`, { to: gw.userJid });
    const features = account.getChild('query', DISCO_INFO)!.getChildren('feature').map((f) => f.attrs.var);
    expect(features).toEqual(expect.arrayContaining([`${PUBSUB}#publish`, `${PUBSUB}#publish-options`, `${PUBSUB}#auto-create`, `${PUBSUB}#last-published`]));
    expect(features).not.toContain(`${PUBSUB}#subscribe`);
    const nodes = await me.iq(`<query xmlns='http://jabber.org/protocol/disco#items'/>`, { to: gw.userJid });
    expect(nodes.getChild('query')!.getChildren('item').map((i) => i.attrs.node)).toEqual([TUNE]);
  });
});
