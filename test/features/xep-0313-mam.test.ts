// History dialogues (XEP-0313, XEP-0359): a client pages the archive forwards and backwards, by peer,
// time and id; live, offline and archived copies of a message share one stanza-id; preferences; errors.
import { describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, loginOnline } from '../support/feature-dialogue.js';
import { mamQuery, MAM, SID, type MamAnswer, type MamQuery } from '../support/mam.js';
import { stanzaErrorOf, type TestClient, type TestGateway } from '../support/xmpp-harness.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const DELAY = 'urn:xmpp:delay';
const bodies = (a: MamAnswer) => a.results.map((r) => r.body);
const stanzaIdOf = (el: Element) => el.getChild('stanza-id', SID);

describe('message archive (XEP-0313)', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full, bare } = gatewayPerTest((d) => ({ gw, fake } = d));
  const online = (resource?: string) => loginOnline(gw, resource ? { resource } : {});
  /** A conversation of `n` messages, alternating peer → user and user → peer, each one received before the next. */
  const converse = async (me: TestClient, peer: string, n: number, tag = 'm') => {
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        fake.peerSays(peer, `${tag}${i}`);
        await me.next((el) => el.name === 'message' && el.getChildText('body') === `${tag}${i}`);
      } else {
        me.send(`<message type='chat' to='${bare(peer)}' id='out${tag}${i}'><body>${tag}${i}</body></message>`);
        await me.sync();
      }
    }
  };

  it('advertises MAM, its extended queries and stable ids on the account', async () => {
    const me = await gw.login();
    const res = await me.iq(`<query xmlns='${INFO}'/>`, { to: gw.userJid });
    const features = res.getChild('query', INFO)!.getChildren('feature').map((f) => f.attrs.var);
    expect(features).toEqual(expect.arrayContaining([MAM, `${MAM}#extended`, SID]));
  });

  it('gives a live message, its archived copy and the user\'s own message (with its origin-id) one stable id', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await online();
    fake.peerSays(alice.id, 'hello from alice');
    const live = await me.next((el) => el.name === 'message' && el.getChildText('body') === 'hello from alice');
    expect(stanzaIdOf(live)!.attrs).toMatchObject({ by: gw.userJid });
    me.send(
      `<message type='chat' to='${bare(alice.id)}' id='c1'><body>hi alice</body><origin-id xmlns='${SID}' id='origin-1'/>` +
        `<stanza-id xmlns='${SID}' by='${gw.userJid}' id='forged'/></message>`,
    );
    await me.sync();

    const a = await mamQuery(me);
    expect(bodies(a)).toEqual(['hello from alice', 'hi alice']);
    expect(a.complete).toBe(true);
    expect(a.count).toBe(2);
    const [inbound, outbound] = a.results;
    expect(inbound!.id).toBe(stanzaIdOf(live)!.attrs.id);
    expect(inbound!.message.attrs).toMatchObject({ from: full(alice.id), to: gw.userJid, type: 'chat' });
    expect(outbound!.message.attrs).toMatchObject({ from: gw.userJid, to: bare(alice.id), id: 'c1' });
    expect(outbound!.message.getChild('origin-id', SID)!.attrs.id).toBe('origin-1');
    // Our id, not the one the client tried to give it.
    expect(outbound!.message.getChildren('stanza-id', SID).map((s) => s.attrs.id)).toEqual([outbound!.id]);
    expect(outbound!.id).not.toBe('forged');
    expect(a.first).toBe(inbound!.id);
    expect(a.last).toBe(outbound!.id);
  });

  it('strips a stanza-id claiming to be ours from a message between the user\'s own clients', async () => {
    const one = await online('one');
    const two = await online('two');
    one.send(`<message type='chat' to='${gw.userJid}/two'><body>note</body><stanza-id xmlns='${SID}' by='${gw.userJid.toUpperCase()}' id='forged'/><stanza-id xmlns='${SID}' by='elsewhere.example' id='theirs'/></message>`);
    const got = await two.next((el) => el.name === 'message' && el.getChildText('body') === 'note');
    expect(got.getChildren('stanza-id', SID).map((s) => s.attrs.by)).toEqual(['elsewhere.example']);
  });

  it('pages forwards with RSM <after/> without gaps or duplicates, complete on the last page', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await online();
    await converse(me, alice.id, 7);
    const seen: string[] = [];
    const ids: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 4; page++) {
      const a = await mamQuery(me, { max: 3, ...(after && { after }) });
      seen.push(...(bodies(a) as string[]));
      ids.push(...a.results.map((r) => r.id));
      expect(a.count).toBe(7);
      if (a.complete) break;
      expect(a.results).toHaveLength(3);
      after = a.last;
    }
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(new Set(ids).size).toBe(7);
  });

  it('pages backwards from the last page (<before/>), each page oldest first; flip-page sends it newest first', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await online();
    await converse(me, alice.id, 7);
    const last = await mamQuery(me, { max: 3, before: '' });
    expect(bodies(last)).toEqual(['m4', 'm5', 'm6']);
    expect(last.complete).toBe(false);
    const previous = await mamQuery(me, { max: 3, before: last.first! });
    expect(bodies(previous)).toEqual(['m1', 'm2', 'm3']);
    const oldest = await mamQuery(me, { max: 3, before: previous.first! });
    expect(bodies(oldest)).toEqual(['m0']);
    expect(oldest.complete).toBe(true);

    const flipped = await mamQuery(me, { max: 3, before: '', flip: true });
    expect(bodies(flipped)).toEqual(['m6', 'm5', 'm4']);
    // first and last still name the oldest and the newest of the page.
    expect([flipped.first, flipped.last]).toEqual([last.first, last.last]);
  });

  it('filters by contact: only that peer, and nothing for the gateway contact or an unknown JID', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const bob = fake.addFakeContact({ name: 'Bob', online: true });
    const me = await online();
    await converse(me, alice.id, 3, 'a');
    await converse(me, bob.id, 2, 'b');
    expect(bodies(await mamQuery(me, { fields: { with: bare(bob.id) } }))).toEqual(['b0', 'b1']);
    // A full JID is matched as its bare JID: a peer has one resource.
    expect(bodies(await mamQuery(me, { fields: { with: full(alice.id) } }))).toEqual(['a0', 'a1', 'a2']);
    const bot = await mamQuery(me, { fields: { with: gw.domain } });
    expect(bot).toMatchObject({ results: [], complete: true, count: 0 });
    expect(bodies(await mamQuery(me, { fields: { with: 'someone@example.org' } }))).toEqual([]);
  });

  it('filters by time (start and end inclusive) and by id (after-id, before-id, ids)', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    const bob = fake.addFakeContact({ name: 'Bob' });
    const t = (h: number) => new Date(Date.UTC(2025, 0, 1, h));
    // History written long ago, an hour apart.
    const entries = [0, 1, 2, 3, 4].map((h) =>
      gw.store!.archive.append(gw.accountId!, { fingerprint: h === 2 ? bob.id : alice.id, direction: 'in', text: `h${h}`, stamp: t(h) }),
    );
    const me = await online();
    const range = await mamQuery(me, { fields: { start: t(1).toISOString(), end: '2025-01-01T03:00:00Z' } });
    expect(bodies(range)).toEqual(['h1', 'h2', 'h3']);
    expect(range.count).toBe(3);
    expect(bodies(await mamQuery(me, { fields: { with: bare(alice.id), start: '2025-01-01T00:30:00+00:00' } }))).toEqual(['h1', 'h3', 'h4']);
    const ids = entries.map((e) => e.stanzaId);
    expect(bodies(await mamQuery(me, { fields: { 'after-id': ids[1]!, 'before-id': ids[4]! } }))).toEqual(['h2', 'h3']);
    // before-id bounds the range but reads it from the start, unlike RSM <before/>.
    expect(bodies(await mamQuery(me, { fields: { 'before-id': ids[4]! }, max: 2 }))).toEqual(['h0', 'h1']);
    expect(bodies(await mamQuery(me, { fields: { ids: [ids[3]!, ids[0]!] } }))).toEqual(['h0', 'h3']);
  });

  it('answers item-not-found for an id it does not hold', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await online();
    await converse(me, alice.id, 1);
    const queries: MamQuery[] = [{ after: 'nope' }, { before: 'nope' }, { fields: { 'after-id': 'nope' } }, { fields: { ids: ['nope'] } }];
    for (const q of queries) {
      const a = await mamQuery(me, q);
      expect(a.reply.attrs.type).toBe('error');
      expect(stanzaErrorOf(a.reply)).toBe('item-not-found');
      expect(a.results).toEqual([]);
    }
  });

  it('refuses malformed queries with the error XEP-0313 names', async () => {
    const me = await online();
    const cases: Array<[Parameters<typeof mamQuery>[1], string]> = [
      [{ formType: 'urn:xmpp:mam:1' }, 'bad-request'],
      [{ fields: { with: 'x' }, formType: null }, 'bad-request'],
      [{ fields: { start: 'yesterday' } }, 'bad-request'],
      [{ fields: { 'include-groupchat': 'true' } }, 'feature-not-implemented'],
      [{ fields: { with: 'a@b@c' } }, 'jid-malformed'],
    ];
    for (const [q, condition] of cases) {
      const a = await mamQuery(me, q);
      expect([JSON.stringify(q), stanzaErrorOf(a.reply)]).toEqual([JSON.stringify(q), condition]);
    }
  });

  it('caps a page at 250 results whatever <max/> asks, and counts the rest', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    for (let i = 0; i < 260; i++) gw.store!.archive.append(gw.accountId!, { fingerprint: alice.id, direction: 'in', text: `n${i}` });
    const me = await online();
    const a = await mamQuery(me, { max: 100000 });
    expect(a.results).toHaveLength(250);
    expect(a).toMatchObject({ complete: false, count: 260 });
    const none = await mamQuery(me, { max: 0 });
    expect(none).toMatchObject({ results: [], count: 260, complete: false });
  });

  it('describes its query form and the ends of the archive', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await online();
    const empty = await me.iq(`<metadata xmlns='${MAM}'/>`);
    expect(empty.getChild('metadata', MAM)!.elements()).toEqual([]);
    await converse(me, alice.id, 3);
    const form = await me.iq(`<query xmlns='${MAM}'/>`);
    const vars = form.getChild('query', MAM)!.getChild('x', 'jabber:x:data')!.getChildren('field').map((f) => f.attrs.var);
    expect(vars).toEqual(['FORM_TYPE', 'with', 'start', 'end', 'before-id', 'after-id', 'ids']);
    const all = await mamQuery(me);
    const meta = (await me.iq(`<metadata xmlns='${MAM}'/>`)).getChild('metadata', MAM)!;
    expect(meta.getChild('start')!.attrs.id).toBe(all.first);
    expect(meta.getChild('end')!.attrs).toMatchObject({ id: all.last, timestamp: all.results[2]!.stamp });
  });

  it('keeps preferences: "never" stops archiving new messages (delivered without an id), rules per contact', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const bob = fake.addFakeContact({ name: 'Bob', online: true });
    const me = await online();
    const initial = (await me.iq(`<prefs xmlns='${MAM}'/>`)).getChild('prefs', MAM)!;
    expect(initial.attrs.default).toBe('always');

    const set = await me.iq(
      `<prefs xmlns='${MAM}' default='never'><always><jid>${bare(bob.id)}</jid></always><never/></prefs>`,
      { type: 'set' },
    );
    const prefs = set.getChild('prefs', MAM)!;
    expect(prefs.attrs.default).toBe('never');
    expect(prefs.getChild('always')!.getChildren('jid').map((j) => j.text())).toEqual([bare(bob.id)]);

    fake.peerSays(alice.id, 'off the record');
    const unarchived = await me.next((el) => el.name === 'message' && el.getChildText('body') === 'off the record');
    expect(stanzaIdOf(unarchived)).toBeUndefined();
    fake.peerSays(bob.id, 'kept');
    await me.next((el) => el.name === 'message' && el.getChildText('body') === 'kept');
    expect(bodies(await mamQuery(me))).toEqual(['kept']);

    const again = (await me.iq(`<prefs xmlns='${MAM}'/>`)).getChild('prefs', MAM)!;
    expect(again.attrs.default).toBe('never');
    const bad = await me.iq(`<prefs xmlns='${MAM}' default='sometimes'/>`, { type: 'set' });
    expect(stanzaErrorOf(bad)).toBe('bad-request');
  });

  it('does not push stored offline messages to a client that synced from the archive; Pidgin still gets them, delayed', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    fake.peerSays(alice.id, 'while you were away 1');
    fake.peerSays(alice.id, 'while you were away 2');

    // A MAM client (Conversations, Dino) queries before its initial presence.
    const syncing = await gw.login({ resource: 'phone', presence: false });
    const synced = await mamQuery(syncing, { before: '' });
    expect(bodies(synced)).toEqual(['while you were away 1', 'while you were away 2']);
    syncing.send('<presence/>');
    await syncing.next((el) => el.name === 'presence' && el.attrs.from === gw.domain);
    await syncing.expectNothing(300, (el) => el.name === 'message' && el.getChild('result', MAM) === undefined && el.getChild('body') !== undefined);

    // Pidgin (no MAM) logs in later: what arrived while it was away, with delay stamps and the same ids.
    const pidgin = await gw.login({ resource: 'pidgin' });
    const first = await pidgin.next((el) => el.name === 'message' && el.getChildText('body') === 'while you were away 1');
    const second = await pidgin.next((el) => el.name === 'message' && el.getChildText('body') === 'while you were away 2');
    expect(first.getChild('delay', DELAY)).toBeDefined();
    expect([first, second].map((m) => stanzaIdOf(m)!.attrs.id)).toEqual(synced.results.map((r) => r.id));
  });
});
