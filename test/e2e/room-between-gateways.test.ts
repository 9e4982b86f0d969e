// A room hosted by gateway A, joined from gateway B with the room extension (issue 12 part 3, docs/rooms.md
// "Between gateways"), beside a gnutls-cli member. What B's user (slixmpp) sees: the occupants as presence when it
// comes in, history as MUC history with the XEP-0203 stamp of when it was said (the subject after it), its own
// message reflected once with its id, nothing lost nor doubled after B's room connection is cut, and the room's
// messages through XEP-0313 on the room JID. The gnutls-cli member reads only the sample chat's lines.
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { SlixmppClient, type SlixEvent } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { joinChat, MINUTE, type ChatMember } from '../support/tlsd-chat-member.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';

const T = 90_000;
const W = 30_000;
const ROOM = 'party@conference.localhost';
type Message = Extract<SlixEvent, { event: 'message' }>;

interopSuite('e2e: a hosted room between two gateways, with the room extension', ['gnutls-cli', 'openssl', 'slixmpp'], () => {
  let a: E2eGateway;
  let b: E2eGateway;
  let anna: SlixmppClient;
  let bert: SlixmppClient;
  let carol: ChatMember;
  let proxy: TcpProxy;
  let roomShare: string;
  let saidFrom: number;
  let saidUntil: number;
  const bodies = (user: SlixmppClient, body: string) => user.events.filter((e): e is Message => e.event === 'message' && e.type === 'groupchat' && e.body === body);
  const heard = (user: SlixmppClient, nick: string, body: string, from = 0) =>
    user.nextMessage((m) => m.type === 'groupchat' && m.from === `${ROOM}/${nick}` && m.body === body, W, from);

  beforeAll(async () => {
    [a, b, anna, bert] = await Promise.all([startInProcessGateway(), startInProcessGateway(), SlixmppClient.start(), SlixmppClient.start()]);
    await anna.connect({ jid: `${a.userJid}/laptop`, password: a.password, host: '127.0.0.1', port: a.c2sPort, ca_file: a.caCertFile });
    await bert.connect({ jid: `${b.userJid}/laptop`, password: b.password, host: '127.0.0.1', port: b.c2sPort, ca_file: b.caCertFile });
  }, T);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await killAll();
    removeTmpDirs();
  });

  it("B's user comes in: the occupants as presence, then history with the time it was said, then the subject", async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}\nB's log:\n${b.log.tail(60)}`));
    let from = anna.mark();
    await anna.send('localhost', 'room host party');
    const hosted = await anna.nextMessage((m) => m.from === 'localhost' && /^Hosting room party/.test(m.body), W, from);
    const share = /tlsim:\/\/([0-9a-f]{64})@[^\s]+:(\d+)/.exec(hosted.body)!;
    roomShare = `tlsim://${share[1]}@127.0.0.1:${share[2]}`;
    await anna.request({ cmd: 'muc_join', to: `${ROOM}/Anna` });
    await anna.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/anna`, W, from);
    carol = await joinChat({ port: Number(share[2]) }, await makeOpensslIdentity(tmpDir('carol')), 'carol');
    from = anna.mark();
    saidFrom = Date.now();
    await carol.member.type('early words\n');
    await heard(anna, 'carol', 'early words', from);
    saidUntil = Date.now();

    // B reaches the room through a relay the test can cut.
    proxy = await tcpProxy(Number(share[2]));
    from = bert.mark();
    await bert.send('localhost', `room add tlsim://${share[1]}@127.0.0.1:${proxy.port} party`);
    await bert.nextMessage((m) => m.from === 'localhost' && /^Added room party/.test(m.body), W, from);
    from = bert.mark();
    await bert.request({ cmd: 'muc_join', to: `${ROOM}/Bert` });
    const subject = await bert.nextMessage((m) => m.from === ROOM && m.subject !== null, W, from);
    const seen = bert.events.slice(from);
    const at = (pred: (e: SlixEvent) => boolean) => seen.findIndex(pred);
    const self = at((e) => e.event === 'presence' && e.from === `${ROOM}/bert` && (e.muc_codes ?? []).includes('110'));
    const history = at((e) => e.event === 'message' && e.body === 'early words');
    // XEP-0045 §7.2: others' presence, our own, the history, the subject.
    expect(at((e) => e.event === 'presence' && e.from === `${ROOM}/anna` && e.type === 'available')).toBeLessThan(self);
    expect(at((e) => e.event === 'presence' && e.from === `${ROOM}/carol` && e.type === 'available')).toBeLessThan(self);
    expect(self).toBeLessThan(history);
    expect(history).toBeLessThan(seen.indexOf(subject));
    const early = seen[history] as Message;
    expect(early.from).toBe(`${ROOM}/carol`);
    // The time carol said it (to the millisecond the host heard it), not the minute of a line nor the join.
    const stamp = Date.parse(early.delay!);
    expect(stamp).toBeGreaterThanOrEqual(saidFrom - 5);
    expect(stamp).toBeLessThanOrEqual(saidUntil);
    expect(early.stanza_id_by).toBe(ROOM);
  }, T);

  it("B's user's message: the others read it, and its own client sees it once, with its id", async () => {
    const from = anna.mark();
    const fromB = bert.mark();
    const { msg_id } = await bert.send(ROOM, 'hello from B', { type: 'groupchat', msg_id: 'bert-1' });
    await heard(anna, 'bert', 'hello from B', from);
    const mine = await heard(bert, 'bert', 'hello from B', fromB);
    expect(mine.id).toBe(msg_id);
    await carol.waitFor(new RegExp(`^${MINUTE} bert\\[\\d+\\]: hello from B$`, 'm'));
    await anna.send(ROOM, 'hello from A', { type: 'groupchat' });
    await heard(bert, 'anna', 'hello from A', fromB);
    expect(bodies(bert, 'hello from B')).toHaveLength(1);
  }, T);

  it("B's room connection is cut: what was said meanwhile arrives once, nothing twice; MAM on the room JID has it all", async () => {
    onTestFailed(() => console.log(`B's log:\n${b.log.tail(80)}`));
    const fromB = bert.mark();
    proxy.cut();
    await bert.nextMessage((m) => m.from === ROOM && /^Lost the link to the room/.test(m.body ?? ''), W, fromB);
    const from = anna.mark();
    await carol.member.type('during the cut\n');
    await heard(anna, 'carol', 'during the cut', from);
    const missed = await heard(bert, 'carol', 'during the cut', fromB);
    expect(missed.delay).not.toBeNull();
    await bert.send(ROOM, 'back again', { type: 'groupchat' });
    await heard(anna, 'bert', 'back again', from);
    await heard(bert, 'bert', 'back again', fromB);
    for (const body of ['early words', 'hello from B', 'hello from A', 'during the cut', 'back again']) expect(bodies(bert, body), body).toHaveLength(1);

    const info = await bert.discoInfo(ROOM);
    expect(info.features).toContain('urn:xmpp:mam:2');
    const { pages } = await bert.mam({ jid: ROOM, max: 50 });
    const results = pages.flatMap((p) => p.results);
    expect(results.map((r) => r.body)).toEqual(['early words', 'hello from B', 'hello from A', 'during the cut', 'back again']);
    expect(results[0]).toMatchObject({ from: `${ROOM}/carol`, type: 'groupchat' });
    expect(Date.parse(results[0]!.stamp!)).toBeGreaterThanOrEqual(saidFrom - 5);
    expect(Date.parse(results[0]!.stamp!)).toBeLessThanOrEqual(saidUntil);
  }, T);

  it("another client of B's user joins the open room: history from what B keeps, within its <history/> limits, stamped, with the room's ids, then the subject", async () => {
    onTestFailed(() => console.log(`B's log:\n${b.log.tail(60)}`));
    const all = ['early words', 'hello from B', 'hello from A', 'during the cut', 'back again'];
    const { pages } = await bert.mam({ jid: ROOM, max: 50 });
    const archived = pages.flatMap((p) => p.results);
    const phone = await SlixmppClient.start();
    try {
      await phone.connect({ jid: `${b.userJid}/phone`, password: b.password, host: '127.0.0.1', port: b.c2sPort, ca_file: b.caCertFile });
      const fromLaptop = bert.mark();
      /** Joins with these limits: the history read before the subject (after the self-presence), then leaves. */
      const historyOnJoin = async (history?: { maxstanzas?: number; maxchars?: number; seconds?: number; since?: string }) => {
        const from = phone.mark();
        await phone.request({ cmd: 'muc_join', to: `${ROOM}/Bert`, ...(history && { history }) });
        const subject = await phone.nextMessage((m) => m.from === ROOM && m.subject !== null, W, from);
        const seen = phone.events.slice(from, phone.events.indexOf(subject));
        const self = seen.findIndex((e) => e.event === 'presence' && e.from === `${ROOM}/bert` && (e.muc_codes ?? []).includes('110'));
        expect(self).toBeGreaterThanOrEqual(0);
        const got = seen.filter((e): e is Message => e.event === 'message' && e.type === 'groupchat' && e.body !== '');
        expect(got.every((m) => seen.indexOf(m) > self)).toBe(true);
        await phone.request({ cmd: 'presence', to: `${ROOM}/Bert`, type: 'unavailable' });
        await phone.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/bert` && e.type === 'unavailable', W, from);
        return got;
      };
      // No limits: the room's default, all five here, each stamped with when it was said and with the room's id.
      const full = await historyOnJoin();
      expect(full.map((m) => m.body)).toEqual(all);
      expect(full.map((m) => m.stanza_id)).toEqual(archived.map((r) => r.id));
      expect(full.every((m) => m.stanza_id_by === ROOM && m.delay !== null)).toBe(true);
      expect(full.map((m) => Date.parse(m.delay!))).toEqual(archived.map((r) => Date.parse(r.stamp!)));
      expect(full[0]!.from).toBe(`${ROOM}/carol`);
      // XEP-0045 §7.2.14: the least that meets every limit given, whole stanzas only.
      expect((await historyOnJoin({ maxstanzas: 2 })).map((m) => m.body)).toEqual(all.slice(-2));
      expect((await historyOnJoin({ since: archived[2]!.stamp! })).map((m) => m.body)).toEqual(all.slice(2));
      expect((await historyOnJoin({ since: archived[2]!.stamp!, maxstanzas: 1 })).map((m) => m.body)).toEqual(all.slice(-1));
      expect(await historyOnJoin({ maxchars: 0 })).toEqual([]);
      expect(await historyOnJoin({ seconds: 0 })).toEqual([]);
      const some = (await historyOnJoin({ maxchars: 1000 })).map((m) => m.body);
      expect(some.length).toBeGreaterThan(0);
      expect(some.length).toBeLessThan(all.length);
      expect(some).toEqual(all.slice(-some.length));
      // The client already in read nothing again.
      expect(bert.events.slice(fromLaptop).filter((e) => e.event === 'message' && all.includes(e.body ?? ''))).toEqual([]);
    } finally {
      await phone.stop();
    }
  }, T);

  it("A's user displays B's message (XEP-0333, the room's stanza-id): B's user reads the marker from A's occupant, once; the gnutls-cli member reads nothing of it", async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(40)}\nB's log:\n${b.log.tail(40)}`));
    const from = anna.mark();
    const fromB = bert.mark();
    await bert.send(ROOM, 'read me', { type: 'groupchat' });
    const got = await heard(anna, 'bert', 'read me', from);
    expect(got.stanza_id_by).toBe(ROOM);
    await carol.waitFor(/ bert\[\d+\]: read me$/m);
    const carolBefore = carol.member.received().length;
    // Twice, as two clients of one user would: the room relays one marker per member and message.
    await anna.marker(ROOM, got.stanza_id!, 'displayed', 'groupchat');
    await anna.marker(ROOM, got.stanza_id!, 'displayed', 'groupchat');
    const mark = await bert.waitForEvent((e) => e.event === 'marker' && e.from === `${ROOM}/anna`, W, fromB);
    expect(mark).toMatchObject({ marker: 'displayed', id: got.stanza_id, type: 'groupchat' });
    // A line said after it comes after anything else the marker could have caused.
    await anna.send(ROOM, 'after the marker', { type: 'groupchat' });
    await heard(bert, 'anna', 'after the marker', fromB);
    await carol.waitFor(/ anna\[\d+\]: after the marker$/m);
    expect(bert.events.slice(fromB).filter((e) => e.event === 'marker')).toHaveLength(1);
    expect(carol.member.received().slice(carolBefore)).toMatch(new RegExp(`^${MINUTE} anna\\[\\d+\\]: after the marker\n$`));
    // The room gives ids: its disco says so (XEP-0333 markers in a MUC name them).
    expect((await bert.discoInfo(ROOM)).features).toContain('urn:xmpp:sid:0');

    // A client of B's user that comes in later reads how far the others have read: anna's marker, after the history
    // (the message it names among it) and before the subject.
    const phone = await SlixmppClient.start();
    try {
      await phone.connect({ jid: `${b.userJid}/phone`, password: b.password, host: '127.0.0.1', port: b.c2sPort, ca_file: b.caCertFile });
      await phone.request({ cmd: 'muc_join', to: `${ROOM}/Bert` });
      const subject = await phone.nextMessage((m) => m.from === ROOM && m.subject !== null, W);
      const seen = phone.events.slice(0, phone.events.indexOf(subject));
      const late = seen.findIndex((e) => e.event === 'marker' && e.from === `${ROOM}/anna`);
      expect(seen[late]).toMatchObject({ marker: 'displayed', id: got.stanza_id, type: 'groupchat' });
      expect(seen.findIndex((e) => e.event === 'message' && e.body === 'read me')).toBeLessThan(late);
    } finally {
      await phone.stop();
    }
  }, T);

  it("a user of a third gateway, new to the room, asks for more history than the room's first 20: its gateway asks the room for them (no markers in it)", async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}`));
    const before = ['early words', 'hello from B', 'hello from A', 'during the cut', 'back again', 'read me', 'after the marker'];
    const more = Array.from({ length: 10 }, (_, i) => `carol ${i}`);
    const fromA = Array.from({ length: 12 }, (_, i) => `anna ${i}`);
    await carol.member.type(more.join('\n') + '\n');
    for (const body of fromA) await anna.send(ROOM, body, { type: 'groupchat' });
    await carol.waitFor(/ anna\[\d+\]: anna 11$/m);
    const all = [...before, ...more, ...fromA];
    const c = await startInProcessGateway();
    const cleo = await SlixmppClient.start();
    try {
      await cleo.connect({ jid: `${c.userJid}/laptop`, password: c.password, host: '127.0.0.1', port: c.c2sPort, ca_file: c.caCertFile });
      let from = cleo.mark();
      await cleo.send('localhost', `room add ${roomShare} party`);
      await cleo.nextMessage((m) => m.from === 'localhost' && /^Added room party/.test(m.body), W, from);
      from = cleo.mark();
      await cleo.request({ cmd: 'muc_join', to: `${ROOM}/Cleo`, history: { maxstanzas: 100 } });
      const subject = await cleo.nextMessage((m) => m.from === ROOM && m.subject !== null, W, from);
      const history = cleo.events.slice(from, cleo.events.indexOf(subject)).filter((e): e is Message => e.event === 'message' && e.type === 'groupchat');
      expect(history.map((m) => m.body)).toEqual(all);
      expect(history.every((m) => m.delay !== null && m.stanza_id_by === ROOM)).toBe(true);
      // C keeps them now: MAM on the room JID has them all too.
      const { pages } = await cleo.mam({ jid: ROOM, max: 50 });
      expect(pages.flatMap((p) => p.results.map((r) => r.body))).toEqual(all);
    } finally {
      await cleo.stop();
      await c.stop();
    }
  }, T);

  it('the gnutls-cli member read only the lines of the sample chat', () => {
    const got = carol.member.received();
    for (const line of got.split('\n').filter(Boolean)) {
      expect(line).toMatch(new RegExp(`^(Enter your alias, please\\.|${MINUTE} \\* [a-z0-9]+\\[\\d+\\] (joins|quits)|${MINUTE} [a-z0-9]+\\[\\d+\\]: .*)$`));
    }
    expect(got).toMatch(new RegExp(`^${MINUTE} bert\\[\\d+\\]: back again$`, 'm'));
    expect(got.match(/bert\[\d+\]: hello from B/g)).toHaveLength(1);
  });
});
