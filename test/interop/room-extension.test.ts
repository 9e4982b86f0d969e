// The room extension (x-tlsim-room/1, docs/rooms.md "Between gateways"): a RoomLink of a member gateway in a room
// a RoomHost hosts, beside a gnutls-cli member. The gateway member learns who is there, reads history with the
// original times, gets its own message echoed once with its id, and after a cut connection reads what it missed,
// nothing twice. The gnutls-cli member reads only the lines of TLSd's sample chat throughout.
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  RoomHost,
  RoomLink,
  createTlsContext,
  directDialer,
  generateIdentity,
  silentLogger,
  type Identity,
  type RoomJoined,
  type RoomLinkOptions,
  type RoomSaid,
} from '../../bridge-protocol/index.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { MemoryBook, MemoryLog } from '../support/room-book.js';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { joinChat, MINUTE, type ChatMember } from '../support/tlsd-chat-member.js';
import { interopSuite } from '../support/tools.js';

const T = 60_000;


interface Member {
  link: RoomLink;
  said: RoomSaid[];
  presence: { name: string; present: boolean }[];
  joins: RoomJoined[];
  marked: { id: string; name: string; marker: string }[];
}

/** A member gateway's RoomLink in the room `roomFp` at `port`, recording what it reads; resolves once it is in. */
async function joinMember(roomFp: string, port: number, alias: string, members: Member[], more: Partial<RoomLinkOptions> = {}): Promise<Member> {
  const link = new RoomLink({
    fingerprint: roomFp, address: { host: '127.0.0.1', port }, dialer: directDialer(),
    tls: createTlsContext(await generateIdentity()), alias, log: silentLogger, backoff: { initialMs: 200, maxMs: 500 }, ...more,
  });
  const m: Member = { link, said: [], presence: [], joins: [], marked: [] };
  link.on('marked', (k) => m.marked.push({ id: k.id, name: k.name, marker: k.marker }));
  link.on('said', (s) => m.said.push(s));
  link.on('presence', (p) => m.presence.push(p));
  link.on('joined', (j) => m.joins.push(j));
  members.push(m);
  link.start();
  await expect.poll(() => m.joins.length, { timeout: 20_000 }).toBe(1);
  return m;
}

async function closeAll(members: Member[], room: RoomHost | undefined, proxy: TcpProxy | undefined): Promise<void> {
  await Promise.all(members.map((m) => m.link.close()));
  await room?.close();
  await proxy?.close();
  await killAll();
  removeTmpDirs();
}

const saidIn = (m: Member, text: string) => expect.poll(() => m.said.find((s) => s.text === text), { timeout: 20_000 }).toBeTruthy();

interopSuite('room extension between gateways, with a gnutls-cli member', ['gnutls-cli', 'openssl'], () => {
  let room: RoomHost;
  let roomId: Identity;
  let port: number;
  let proxy: TcpProxy;
  let carol: ChatMember;
  /** The room's clock: fixed, so history stamps are known. */
  let clock = new Date('2026-03-01T10:15:00Z');
  const members: Member[] = [];

  const member = (alias: string, viaPort = port): Promise<Member> => joinMember(roomId.fingerprint, viaPort, alias, members);
  const said = saidIn;

  beforeAll(async () => {
    roomId = await generateIdentity();
    room = new RoomHost({ tls: createTlsContext(roomId), listen: [{ host: '127.0.0.1', port: 0 }], policy: () => 'open', book: new MemoryBook(), log: silentLogger, now: () => clock });
    await room.listen();
    port = room.addresses()[0]!.port;
    proxy = await tcpProxy(port);
    carol = await joinChat({ port }, await makeOpensslIdentity(tmpDir('carol')), 'carol');
  }, T);
  afterAll(() => closeAll(members, room, proxy));

  it('a member gateway is told who is there, and reads history with the times it was said', async () => {
    const heard = new Promise((r) => room.once('line', r));
    await carol.member.type('before anyone\n');
    await heard;
    clock = new Date('2026-03-01T10:20:00Z');
    const anna = await member('anna');
    expect(anna.joins[0]!.present).toEqual([{ name: carol.nick, alias: 'carol' }]);
    await said(anna, 'before anyone');
    const h = anna.said.find((s) => s.text === 'before anyone')!;
    expect(h).toMatchObject({ name: carol.nick, alias: 'carol', history: true });
    // The time it was said (the room's clock then), not when anna read it.
    expect(h.at.toISOString()).toBe('2026-03-01T10:15:00.000Z');
    await carol.waitFor(new RegExp(`^${MINUTE} \\* anna\\[\\d+\\] joins$`, 'm'));
  }, T);

  it('its own message comes back once with its id; carol reads it as lines; a second gateway member sees anna come', async () => {
    const anna = members[0]!;
    await anna.link.say('m-1', 'two\nlines');
    await said(anna, 'two\nlines');
    expect(anna.said.filter((s) => s.echo === 'm-1')).toHaveLength(1);
    await carol.waitFor(/^10:20 anna\[\d+\]: two\n10:20 anna\[\d+\]: lines$/m);
    const bert = await member('bert', proxy.port);
    expect(bert.joins[0]!.present!.map((p) => p.alias).sort()).toEqual(['anna', 'carol']);
    // History: carol's and anna's, neither echoed to bert.
    await said(bert, 'two\nlines');
    expect(bert.said.map((s) => s.text)).toEqual(['before anyone', 'two\nlines']);
    expect(bert.said.every((s) => s.history && s.echo === undefined)).toBe(true);
    await expect.poll(() => anna.presence.find((p) => p.name.startsWith('bert[') && p.present)).toBeTruthy();
  }, T);

  it('a cut connection: the member comes back and reads what was said meanwhile, nothing twice', async () => {
    const [anna, bert] = members as [Member, Member];
    const before = bert.said.length;
    proxy.cut();
    await expect.poll(() => anna.presence.some((p) => p.name.startsWith('bert[') && !p.present), { timeout: 20_000 }).toBe(true);
    await carol.member.type('while bert was away\n');
    await said(anna, 'while bert was away');
    await expect.poll(() => bert.joins.length, { timeout: 20_000 }).toBe(2);
    await said(bert, 'while bert was away');
    await bert.link.say('m-2', 'back');
    await said(anna, 'back');
    await said(bert, 'back');
    const texts = bert.said.slice(before).map((s) => s.text);
    expect(texts).toEqual(['while bert was away', 'back']);
    expect(new Set(bert.said.map((s) => s.id)).size).toBe(bert.said.length);
  }, T);

  it('a message racing a cut: whether the room had it or not, it is said once and echoed once', async () => {
    const [anna, bert] = members as [Member, Member];
    const joins = bert.joins.length;
    void bert.link.say('m-3', 'racing the cut').catch(() => {});
    proxy.cut();
    await expect.poll(() => bert.joins.length, { timeout: 20_000 }).toBe(joins + 1);
    await said(bert, 'racing the cut');
    await said(anna, 'racing the cut');
    await carol.waitFor(/bert\[\d+\]: racing the cut$/m);
    await new Promise((r) => setTimeout(r, 500));
    expect(bert.said.filter((s) => s.echo === 'm-3')).toHaveLength(1);
    expect(anna.said.filter((s) => s.text === 'racing the cut')).toHaveLength(1);
    expect(carol.member.received().match(/racing the cut/g)).toHaveLength(1);
  }, T);

  it('a member gateway that sends a broken frame is cut alone; the room goes on', async () => {
    const anna = members[0]!;
    const me = await generateIdentity();
    const sock = tlsConnect({ host: '127.0.0.1', port, key: me.keyPem, cert: me.certPem, rejectUnauthorized: false, ALPNProtocols: ['x-tlsim-room/1'] });
    await new Promise<void>((r) => sock.once('secureConnect', () => r()));
    expect(sock.alpnProtocol).toBe('x-tlsim-room/1');
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => {});
    sock.write(Buffer.concat([Buffer.from([0xf5]), Buffer.from('{"alias":'), Buffer.from([0x0a])]));
    await closed;
    await carol.member.type('still on\n');
    await said(anna, 'still on');
  }, T);

  it('a member that keeps fewer than its client asked for: its first join reads the last N as well as what followed its id; a redial only what followed', async () => {
    const anna = members[0]!;
    const log = anna.said.map((s) => s.id);
    // It keeps the newest message already (resumeAfter): alone, that would be nothing; with history 3, the last 3.
    const eve = await joinMember(roomId.fingerprint, proxy.port, 'eve', members, { resumeAfter: log.at(-1)!, history: 3 });
    await expect.poll(() => eve.said.length).toBe(3);
    expect(eve.said.map((s) => s.id)).toEqual(log.slice(-3));
    expect(eve.said.every((s) => s.history)).toBe(true);
    proxy.cut();
    await expect.poll(() => eve.link.state, { timeout: 20_000 }).not.toBe('joined');
    await carol.member.type('while eve was away\n');
    await said(anna, 'while eve was away');
    await expect.poll(() => eve.joins.length, { timeout: 20_000 }).toBe(2);
    await said(eve, 'while eve was away');
    await new Promise((r) => setTimeout(r, 300));
    expect(eve.said.map((s) => s.text).slice(3)).toEqual(['while eve was away']);
  }, T);

  it("a member gateway's marker reaches the other member gateways from it, once, only of a message the room said; never back, never as a line", async () => {
    const [anna, bert] = members as [Member, Member];
    const eve = members.find((m) => m.joins[0]?.alias === 'eve')!;
    await expect.poll(() => eve.link.state, { timeout: 20_000 }).toBe('joined');
    const id = anna.said.at(-1)!.id;
    await anna.link.mark(id, 'displayed');
    await anna.link.mark(id, 'displayed');
    await anna.link.mark('nothing-said-1', 'displayed');
    await expect.poll(() => bert.marked.length, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => eve.marked.length, { timeout: 20_000 }).toBe(1);
    // A line after the markers: by the time it is heard, anything they caused has arrived.
    await carol.member.type('after the markers\n');
    for (const m of [anna, bert, eve]) await said(m, 'after the markers');
    expect(bert.marked).toEqual([{ id, name: anna.joins.at(-1)!.name, marker: 'displayed' }]);
    expect(eve.marked).toEqual(bert.marked);
    expect(anna.marked).toEqual([]);
    await expect(anna.link.mark('has space', 'displayed')).rejects.toThrow(RangeError);
  }, T);

  it('the gnutls-cli member read only sample-chat lines: no frame byte, no echo of its own line', () => {
    const got = carol.member.received();
    expect(got).not.toMatch(/[\u00f5-\u00ff\ufffd]/);
    for (const line of got.split('\n').filter(Boolean)) {
      expect(line).toMatch(new RegExp(`^(Enter your alias, please\\.|${MINUTE} \\* [a-z0-9]+\\[\\d+\\] (joins|quits)|${MINUTE} [a-z0-9]+\\[\\d+\\]: .*)$`));
    }
    expect(got).not.toMatch(/carol\[\d+\]: before anyone/);
    expect(got).toMatch(/anna\[\d+\]: back|bert\[\d+\]: back/);
  });
});

interopSuite('a room host whose log is kept (the store), restarted on its port', ['gnutls-cli', 'openssl'], () => {
  const members: Member[] = [];
  let room: RoomHost | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(() => closeAll(members, room, proxy));

  it('a member gateway away during the restart resumes by the id it saw last: what followed, once; newcomers read the history with its times and ids', async () => {
    const roomId = await generateIdentity();
    const book = new MemoryBook();
    const log = new MemoryLog();
    let clock = new Date('2026-03-01T09:00:00Z');
    const start = async (port: number) => {
      const host = new RoomHost({ tls: createTlsContext(roomId), listen: [{ host: '127.0.0.1', port }], policy: () => 'open', book, logStore: log, log: silentLogger, now: () => clock });
      await host.listen();
      return host;
    };
    room = await start(0);
    const port = room.addresses()[0]!.port;
    proxy = await tcpProxy(port);
    const carolId = await makeOpensslIdentity(tmpDir('carol-kept'));
    const carol = await joinChat({ port }, carolId, 'carol');
    const bert = await joinMember(roomId.fingerprint, proxy.port, 'bert', members);
    await carol.member.type('one\n');
    await saidIn(bert, 'one');

    proxy.hold(true);
    await expect.poll(() => bert.link.state, { timeout: 20_000 }).not.toBe('joined');
    clock = new Date('2026-03-01T09:10:00Z');
    await carol.member.type('two\n');
    await expect.poll(() => log.entries.map((e) => e.text)).toEqual(['one', 'two']);
    await room.close();
    clock = new Date('2026-03-01T09:30:00Z');
    room = await start(port);

    // carol, known by her fingerprint, comes back and reads the history with the minutes it was said.
    const back = await joinChat({ port }, carolId, undefined);
    await back.waitFor(/^09:10 carol\[\d+\]: two$/m);
    expect(back.member.received()).toMatch(/^09:00 carol\[\d+\]: one$/m);
    await back.member.type('three\n');
    await expect.poll(() => log.entries.length).toBe(3);

    const before = bert.said.length;
    proxy.hold(false);
    await expect.poll(() => bert.joins.length, { timeout: 20_000 }).toBe(2);
    await saidIn(bert, 'three');
    expect(bert.said.slice(before).map((s) => s.text)).toEqual(['two', 'three']);
    expect(bert.said.slice(before).every((s) => s.history)).toBe(true);
    // A newcomer gateway: the same ids and times as the room gave them before its restart.
    const dana = await joinMember(roomId.fingerprint, port, 'dana', members);
    await saidIn(dana, 'three');
    expect(dana.said.map((s) => [s.id, s.text, s.at.toISOString()])).toEqual(bert.said.map((s) => [s.id, s.text, s.at.toISOString()]));
    expect(dana.said[0]!.at.toISOString()).toBe('2026-03-01T09:00:00.000Z');
  }, T);
});
