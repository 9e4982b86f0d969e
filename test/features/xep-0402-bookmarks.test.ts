// Bookmark dialogues: XEP-0402 (Conversations, Dino, Gajim), XEP-0048 in PEP and in private storage
// (XEP-0049: older Gajim, Converse, Profanity) are one list, whichever a client writes.
import { describe, expect, it } from 'vitest';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { DISCO_INFO, isEvent, items, itemsOf, loginWithCaps, publish, PUBSUB, PUBSUB_EVENT } from '../support/pep-dialogue.js';
import type { TestClient, TestGateway } from '../support/xmpp-harness.js';

const NATIVE = 'urn:xmpp:bookmarks:1';
const LEGACY = 'storage:bookmarks';
const PRIVATE = 'jabber:iq:private';
// What XEP-0402 §3 has clients send.
const NATIVE_OPTIONS = { 'pubsub#persist_items': 'true', 'pubsub#max_items': 'max', 'pubsub#send_last_published_item': 'never', 'pubsub#access_model': 'whitelist' };

const conference = (name: string, nick: string) => `<conference xmlns='${NATIVE}' name='${name}' autojoin='true'><nick>${nick}</nick></conference>`;
const privateGet = (me: TestClient) => me.iq(`<query xmlns='${PRIVATE}'><storage xmlns='${LEGACY}'/></query>`);
const storageOf = (reply: Element) => reply.getChild('query', PRIVATE)!.getChild('storage', LEGACY)!;
const legacyPep = async (me: TestClient) => itemsOf(await me.iq(items(LEGACY)))[0]!.getChild('storage', LEGACY)!;
const conferencesOf = (storage: Element) =>
  storage.getChildren('conference').map((c) => ({ jid: c.attrs.jid, name: c.attrs.name, autojoin: c.attrs.autojoin, nick: c.getChildText('nick') }));

describe('bookmarks', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('advertises the XEP-0402 compat features clients look for before using it', async () => {
    const me = await gw.login();
    const info = await me.iq(`<query xmlns='${DISCO_INFO}'/>`, { to: gw.userJid });
    const features = info.getChild('query', DISCO_INFO)!.getChildren('feature').map((f) => f.attrs.var);
    expect(features).toEqual(expect.arrayContaining([`${NATIVE}#compat`, `${NATIVE}#compat-pep`, `${PUBSUB}#publish-options`]));
  });

  it('shows native bookmarks to clients reading XEP-0048 from PEP or private storage', async () => {
    const me = await gw.login();
    const res = await me.iq(publish(NATIVE, conference('Tea', 'me'), { id: 'tea@muc.example', options: NATIVE_OPTIONS }), { type: 'set' });
    expect(res.attrs.type).toBe('result');
    await me.iq(publish(NATIVE, conference('Chess', 'knight'), { id: 'chess@muc.example', options: NATIVE_OPTIONS }), { type: 'set' });

    const expected = [
      { jid: 'tea@muc.example', name: 'Tea', autojoin: 'true', nick: 'me' },
      { jid: 'chess@muc.example', name: 'Chess', autojoin: 'true', nick: 'knight' },
    ];
    expect(conferencesOf(storageOf(await privateGet(me)))).toEqual(expected);
    expect(conferencesOf(await legacyPep(me))).toEqual(expected);

    // Retracting one (as Conversations does on "delete bookmark") removes it everywhere.
    await me.iq(`<pubsub xmlns='${PUBSUB}'><retract node='${NATIVE}' notify='true'><item id='tea@muc.example'/></retract></pubsub>`, { type: 'set' });
    expect(conferencesOf(storageOf(await privateGet(me))).map((c) => c.jid)).toEqual(['chess@muc.example']);
  });

  it('turns a private-storage list into native bookmarks, keeping its url bookmarks for legacy readers', async () => {
    const me = await gw.login();
    const list =
      `<storage xmlns='${LEGACY}'><conference jid='tea@muc.example' name='Tea' autojoin='1'><nick>me</nick></conference>` +
      `<url name='tlsim' url='https://example.org'/></storage>`;
    expect((await me.iq(`<query xmlns='${PRIVATE}'>${list}</query>`, { type: 'set' })).attrs.type).toBe('result');

    const native = itemsOf(await me.iq(items(NATIVE)));
    expect(native.map((i) => i.attrs.id)).toEqual(['tea@muc.example']);
    const c = native[0]!.getChild('conference', NATIVE)!;
    expect([c.attrs.name, c.attrs.autojoin, c.getChildText('nick')]).toEqual(['Tea', 'true', 'me']);
    // A Conversations-style publish afterwards fits the node the conversion made.
    const res = await me.iq(publish(NATIVE, conference('Chess', 'knight'), { id: 'chess@muc.example', options: NATIVE_OPTIONS }), { type: 'set' });
    expect(res.attrs.type).toBe('result');

    const back = storageOf(await privateGet(me));
    expect(conferencesOf(back).map((x) => x.jid)).toEqual(['tea@muc.example', 'chess@muc.example']);
    expect(back.getChild('url')!.attrs.url).toBe('https://example.org');

    // A legacy client writes its whole list: a room it leaves out was removed, and native clients hear of it.
    const conversations = await loginWithCaps(gw, 'conversations', [NATIVE]);
    await me.iq(`<query xmlns='${PRIVATE}'><storage xmlns='${LEGACY}'><conference jid='chess@muc.example' name='Chess'/></storage></query>`, { type: 'set' });
    expect(itemsOf(await me.iq(items(NATIVE))).map((i) => i.attrs.id)).toEqual(['chess@muc.example']);
    const removed = await conversations.next((el) => isEvent(NATIVE)(el) && !!el.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('retract'));
    expect(removed.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('retract')!.attrs.id).toBe('tea@muc.example');
  });

  it('turns a legacy PEP list into native bookmarks, and tells native clients', async () => {
    const native = await loginWithCaps(gw, 'dino', [NATIVE]);
    const legacy = await loginWithCaps(gw, 'old-gajim', [LEGACY]);
    const list = `<storage xmlns='${LEGACY}'><conference jid='tea@muc.example' name='Tea' autojoin='true'/></storage>`;
    const res = await legacy.iq(publish(LEGACY, list, { id: 'current', options: { 'pubsub#persist_items': 'true', 'pubsub#access_model': 'whitelist' } }), {
      type: 'set',
    });
    expect(res.attrs.type).toBe('result');

    const ev = await native.next(isEvent(NATIVE));
    const item = ev.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('item')!;
    expect(item.attrs.id).toBe('tea@muc.example');
    expect(item.getChild('conference', NATIVE)!.attrs.name).toBe('Tea');

    // And the other way: a native publish reaches the legacy client as its whole new list.
    await native.iq(publish(NATIVE, conference('Chess', 'knight'), { id: 'chess@muc.example', options: NATIVE_OPTIONS }), { type: 'set' });
    const update = await legacy.next(
      (el) => isEvent(LEGACY)(el) && el.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('item')!.getChild('storage', LEGACY)!.getChildren('conference').length === 2,
    );
    expect(update.attrs.type).toBe('headline');
    expect(conferencesOf(await legacyPep(native)).map((c) => c.jid)).toEqual(['tea@muc.example', 'chess@muc.example']);

    // Something that is not a bookmark list, published there, does not empty the bookmarks.
    await legacy.iq(publish(LEGACY, `<note xmlns='x:note'>not a list</note>`, { id: 'current' }), { type: 'set' });
    expect(itemsOf(await native.iq(items(NATIVE))).map((i) => i.attrs.id)).toEqual(['tea@muc.example', 'chess@muc.example']);
  });
});
