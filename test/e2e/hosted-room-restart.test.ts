// A room hosted by gateway A keeps its log across a restart of A (issue 12, docs/rooms.md "Hosting a room"):
// carol (gnutls-cli) and A's user speak, B's room connection is held off, A restarts on the same data directory,
// a gnutls-cli newcomer reads the lines said before the restart with their minutes, an XMPP newcomer reads them as
// MUC history stamped with when they were said, and B, back, gets exactly what it missed: once each, none again.
// A's own users read a hosted room's history from that log too: also what was said while none of them was in; B's
// gateway, joining again, asks the room for what followed the last message it keeps, so it misses none either.
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { SlixmppClient, type SlixEvent } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { joinChat, type ChatMember } from '../support/tlsd-chat-member.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';

const T = 90_000;
const W = 30_000;
const ROOM = 'party@conference.localhost';
type Message = Extract<SlixEvent, { event: 'message' }>;

/** `HH:MM` in UTC, as the room writes it. */
const minute = (ms: number) => new Date(ms).toISOString().slice(11, 16);

interopSuite('e2e: a hosted room keeps its log across a restart of its gateway', ['gnutls-cli', 'openssl', 'slixmpp'], () => {
  let a: E2eGateway;
  let b: E2eGateway;
  let anna: SlixmppClient;
  let bert: SlixmppClient;
  let carol: ChatMember;
  let dave: ChatMember;
  let erin: ChatMember | undefined;
  let proxy: TcpProxy;
  let port: number;
  /** When "before 1" was said: between these. */
  let saidFrom: number;
  let saidUntil: number;
  const groupchat = (user: SlixmppClient, body: string, from = 0) =>
    user.events.slice(from).filter((e): e is Message => e.event === 'message' && e.type === 'groupchat' && e.body === body);
  const heard = (user: SlixmppClient, nick: string, body: string, from: number) =>
    user.nextMessage((m) => m.type === 'groupchat' && m.from === `${ROOM}/${nick}` && m.body === body, W, from);
  const connect = (user: SlixmppClient, gw: E2eGateway) => user.connect({ jid: `${gw.userJid}/laptop`, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile });
  const join = async (user: SlixmppClient, nick: string) => {
    const from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${ROOM}/${nick}` });
    return user.nextMessage((m) => m.from === ROOM && m.subject !== null, W, from);
  };

  const leave = async (user: SlixmppClient, nick: string) => {
    const from = user.mark();
    await user.request({ cmd: 'presence', to: `${ROOM}/${nick}`, type: 'unavailable' });
    await user.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/${nick.toLowerCase()}` && e.type === 'unavailable', W, from);
  };
  /** Everything the room said, in order, once the third test is through. */
  let said: string[] = [];

  beforeAll(async () => {
    [a, b, anna, bert] = await Promise.all([startInProcessGateway(), startInProcessGateway(), SlixmppClient.start(), SlixmppClient.start()]);
    await Promise.all([connect(anna, a), connect(bert, b)]);
  }, T);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await killAll();
    removeTmpDirs();
  });

  it('members speak; B is held off; A restarts on its data directory; newcomers read what was said, with its times', async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}\nB's log:\n${b.log.tail(60)}`));
    let from = anna.mark();
    await anna.send('localhost', 'room host party');
    const hosted = await anna.nextMessage((m) => m.from === 'localhost' && /^Hosting room party/.test(m.body), W, from);
    const share = /tlsim:\/\/([0-9a-f]{64})@[^\s]+:(\d+)/.exec(hosted.body)!;
    port = Number(share[2]);
    await join(anna, 'Anna');
    carol = await joinChat({ port }, await makeOpensslIdentity(tmpDir('carol')), 'carol');
    proxy = await tcpProxy(port);
    from = bert.mark();
    await bert.send('localhost', `room add tlsim://${share[1]}@127.0.0.1:${proxy.port} party`);
    await bert.nextMessage((m) => m.from === 'localhost' && /^Added room party/.test(m.body), W, from);
    await join(bert, 'Bert');
    await bert.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/carol`, W);

    from = anna.mark();
    let fromB = bert.mark();
    saidFrom = Date.now();
    await carol.member.type('before 1\n');
    await heard(anna, 'carol', 'before 1', from);
    saidUntil = Date.now();
    await anna.send(ROOM, 'before 2', { type: 'groupchat' });
    await heard(bert, 'carol', 'before 1', fromB);
    await heard(bert, 'anna', 'before 2', fromB);

    // B is away: its connection cut and every redial refused; the room goes on without it.
    fromB = bert.mark();
    proxy.hold(true);
    await bert.nextMessage((m) => m.from === ROOM && /^Lost the link to the room/.test(m.body ?? ''), W, fromB);
    from = anna.mark();
    await carol.member.type('while away 1\n');
    await heard(anna, 'carol', 'while away 1', from);

    await a.stop();
    await anna.stop();
    a = await startInProcessGateway({ dataDir: a.dataDir });

    // A reference newcomer: its join line, then the lines said before the restart, with the minutes they were said.
    dave = await joinChat({ port }, await makeOpensslIdentity(tmpDir('dave')), 'dave');
    await dave.waitFor(/ carol\[\d+\]: while away 1$/m);
    const lines = dave.member.received().split('\n');
    const said = (text: string) => lines.findIndex((l) => new RegExp(`^\\d\\d:\\d\\d [a-z]+\\[\\d+\\]: ${text}$`).test(l));
    expect(said('before 1')).toBeGreaterThan(0);
    expect(said('before 1')).toBeLessThan(said('before 2'));
    expect(said('before 2')).toBeLessThan(said('while away 1'));
    expect([minute(saidFrom), minute(saidUntil)]).toContain(lines[said('before 1')]!.slice(0, 5));

    // An XMPP newcomer on the restarted A: MUC history, stamped with when it was said, before the subject.
    anna = await SlixmppClient.start();
    await connect(anna, a);
    from = anna.mark();
    const subject = await join(anna, 'Anna');
    const seen = anna.events.slice(from);
    const history = ['before 1', 'before 2', 'while away 1'].map((body) => seen.findIndex((e) => e.event === 'message' && e.body === body));
    expect(history.every((i) => i >= 0)).toBe(true);
    expect([...history].sort((x, y) => x - y)).toEqual(history);
    expect(history.at(-1)).toBeLessThan(seen.indexOf(subject));
    const first = seen[history[0]!] as Message;
    expect(first.from).toBe(`${ROOM}/carol`);
    expect(Date.parse(first.delay!)).toBeGreaterThanOrEqual(saidFrom - 5);
    expect(Date.parse(first.delay!)).toBeLessThanOrEqual(saidUntil);

    from = anna.mark();
    await dave.member.type('after restart 1\n');
    await heard(anna, 'dave', 'after restart 1', from);
  }, T);

  it('B comes back: it resumes from the last id it saw, and gets exactly the lines it missed, once, stamped', async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}\nB's log:\n${b.log.tail(60)}`));
    const fromB = bert.mark();
    proxy.hold(false);
    await bert.nextMessage((m) => m.from === ROOM && m.body === 'Back in the room.', W, fromB);
    const missed = await heard(bert, 'dave', 'after restart 1', fromB);
    const away = groupchat(bert, 'while away 1', fromB);
    expect(away).toHaveLength(1);
    expect(away[0]!.delay).not.toBeNull();
    expect(missed.delay).not.toBeNull();
    for (const body of ['before 1', 'before 2']) expect(groupchat(bert, body, fromB), body).toHaveLength(0);
    // Live again, and the room's archive on B holds everything once, in order.
    const from = anna.mark();
    await bert.send(ROOM, 'back from B', { type: 'groupchat' });
    await heard(anna, 'bert', 'back from B', from);
    const { pages } = await bert.mam({ jid: ROOM, max: 50 });
    expect(pages.flatMap((p) => p.results).map((r) => r.body)).toEqual(['before 1', 'before 2', 'while away 1', 'after restart 1', 'back from B']);
  }, T);

  it("A's and B's users come back after more than the room's first 20 were said without them: A's reads all from the room's log, B's gateway resumes from what it kept", async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}\nB's log:\n${b.log.tail(60)}`));
    await leave(anna, 'Anna');
    await leave(bert, 'Bert');
    // 24 lines while none of A's or B's users is in (B's room connection is closed): a burst of 19, then 5 more
    // once the flood limit refilled. Dave said one line since he joined, so his burst of 20 (2 a second) holds 19
    // at least, however soon this runs after it: 20 at once would cut him when it runs within half a second.
    // A reference member reads them as they come.
    const member = (erin = await joinChat({ port }, await makeOpensslIdentity(tmpDir('erin')), 'erin'));
    const out = Array.from({ length: 24 }, (_, i) => `out ${i}`);
    await dave.member.type(out.slice(0, 19).join('\n') + '\n');
    await member.waitFor(/ dave\[\d+\]: out 18$/m);
    await new Promise((r) => setTimeout(r, 2_600));
    await dave.member.type(out.slice(19).join('\n') + '\n');
    await member.waitFor(/ dave\[\d+\]: out 23$/m);
    const expected = ['before 1', 'before 2', 'while away 1', 'after restart 1', 'back from B', ...out];
    said = expected;
    for (const user of [anna, bert]) {
      const from = user.mark();
      await user.request({ cmd: 'muc_join', to: `${ROOM}/${user === anna ? 'Anna' : 'Bert'}`, history: { maxstanzas: 40 } });
      const subject = await user.nextMessage((m) => m.from === ROOM && m.subject !== null, W, from);
      const history = user.events.slice(from, user.events.indexOf(subject)).filter((e): e is Message => e.event === 'message' && e.type === 'groupchat');
      expect(history.map((m) => m.body)).toEqual(expected);
      expect(history.every((m) => m.delay !== null && m.stanza_id_by === ROOM)).toBe(true);
      expect(groupchat(user, 'out 0', from)).toHaveLength(1);
    }
  }, T);

  it("A's user, out of the room, pages the room's own log with MAM on the room JID: what was said while out, by id both ways and by time", async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}`));
    await leave(anna, 'Anna');
    // Said while none of A's users is in: A's own room connection is closed, only the room's log has it.
    const lines = Array.from({ length: 12 }, (_, i) => `log ${i}`);
    const t0 = Date.now();
    await erin!.member.type(lines.join('\n') + '\n');
    await dave.waitFor(/ erin\[\d+\]: log 11$/m);
    const t1 = Date.now();
    const all = [...said, ...lines];

    const forward = await anna.mam({ jid: ROOM, max: 5 });
    const results = forward.pages.flatMap((p) => p.results);
    expect(results.map((r) => r.body)).toEqual(all);
    expect(forward.pages.every((p) => p.results.length <= 5 && p.count === all.length)).toBe(true);
    expect(forward.pages.at(-1)!.complete).toBe(true);
    expect(forward.pages[0]!.complete).toBe(false);
    const mine = results.slice(-12);
    expect(mine.every((r) => r.from === `${ROOM}/erin` && r.type === 'groupchat' && r.stanza_id === r.id && r.stanza_id_by === ROOM)).toBe(true);
    expect(mine.every((r) => Date.parse(r.stamp!) >= t0 - 5 && Date.parse(r.stamp!) <= t1)).toBe(true);
    // Backwards from the newest (RSM <before/>), as Conversations catches up: the same messages, the same ids.
    const back = (await anna.mam({ jid: ROOM, max: 5, reverse: true })).pages;
    expect(back.slice().reverse().flatMap((p) => p.results.map((r) => r.id))).toEqual(results.map((r) => r.id));
    // By time: only what was said while out.
    const range = await anna.mam({ jid: ROOM, start: new Date(t0 - 5).toISOString(), end: new Date(t1).toISOString(), max: 50 });
    expect(range.pages.flatMap((p) => p.results.map((r) => r.body))).toEqual(lines);
  }, T);
});
