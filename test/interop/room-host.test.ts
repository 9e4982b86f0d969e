// A room hosted by the gateway (bridge-protocol/rooms/room-host.ts), joined the way reference members join
// TLSd's sample chat: gnutls-cli with an openssl identity, fp2alias's alias question, `HH:MM NAME: text` and
// `HH:MM * NAME joins|quits`, no echo. Plus what the reference lacks: who is there and the last lines for a
// newcomer, a flooder cut while the others chat on, a size cap, a members-only policy and bans. A RoomLink
// (how the gateway's own users join) is a member like the others.
import { afterEach, describe, expect, it } from 'vitest';
import {
  BANNED,
  FLOOD_CUT,
  ROOM_FULL,
  RoomHost,
  RoomLink,
  createTlsContext,
  directDialer,
  generateIdentity,
  silentLogger,
  type Identity,
  type RoomHostOptions,
  type RoomJoined,
  type RoomLine,
  type RoomPolicy,
} from '../../bridge-protocol/index.js';
import { gnutlsCli } from '../e2e/support/reference-peer.js';
import { makeOpensslIdentity, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { MemoryBook } from '../support/room-book.js';
import { escapeRe, joinChat, MINUTE } from '../support/tlsd-chat-member.js';
import { interopSuite } from '../support/tools.js';

const T = 60_000;


let hosts: RoomHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  hosts = [];
  await killAll();
});

let roomId: Identity | undefined;
async function host(opts: Partial<RoomHostOptions> & { policy?: () => RoomPolicy } = {}): Promise<{ room: RoomHost; port: number; book: MemoryBook }> {
  roomId ??= await generateIdentity();
  const book = (opts.book as MemoryBook | undefined) ?? new MemoryBook();
  const room = new RoomHost({ tls: createTlsContext(roomId), listen: [{ host: '127.0.0.1', port: 0 }], policy: () => 'open', log: silentLogger, ...opts, book });
  await room.listen();
  hosts.push(room);
  return { room, port: room.addresses()[0]!.port, book };
}

const ids: Record<string, Promise<OpensslIdentity>> = {};
const id = (name: string) => (ids[name] ??= makeOpensslIdentity(tmpDir(name)));
/** A member the room turns away: it reads `text` (after answering the question with `alias`, if asked) and is cut. */
async function turnedAway(port: number, who: OpensslIdentity, alias: string | undefined, text: string): Promise<string> {
  const m = await gnutlsCli(who, port);
  if (alias) {
    await m.proc.waitFor(/Enter your alias, please\./, 20_000, { stream: 'stdout' });
    await m.type(`${alias}\n`);
  }
  await m.proc.waitFor(new RegExp(escapeRe(text)), 20_000, { stream: 'stdout' });
  await m.closed;
  return m.received();
}

const line = (name: string, text: string) => new RegExp(`^${MINUTE} ${escapeRe(name)}: ${escapeRe(text)}$`, 'm');
const event = (name: string, what: 'joins' | 'quits') => new RegExp(`^${MINUTE} \\* ${escapeRe(name)} ${what}$`, 'm');

interopSuite('interop: a room hosted by the gateway, joined by gnutls-cli members as reference members join', ['gnutls-cli', 'openssl'], () => {
  it('asks an alias, relays lines to the others only, and tells joins and quits', async () => {
    const { port } = await host();
    const alice = await joinChat({ port }, await id('alice'), 'alice');
    const bob = await joinChat({ port }, await id('bob'), 'bob');
    expect(alice.nick).toMatch(/^alice\[\d+\]$/);
    await alice.waitFor(event(bob.nick, 'joins'));

    await alice.member.type('hello room\n');
    await bob.waitFor(line(alice.nick, 'hello room'));
    await bob.member.type('hi \talice\n');
    await alice.waitFor(line(bob.nick, 'hi alice'));
    // Never an echo of one's own line.
    expect(alice.member.received()).not.toMatch(line(alice.nick, 'hello room'));

    await bob.member.proc.kill();
    await alice.waitFor(event(bob.nick, 'quits'));
  }, T);

  it('a newcomer reads who is there and the last lines said, after its own join line', async () => {
    const { port } = await host({ historyLines: 2 });
    const alice = await joinChat({ port }, await id('alice'), 'alice');
    for (const t of ['one', 'two', 'three']) await alice.member.type(`${t}\n`);
    const bob = await joinChat({ port }, await id('bob'), 'bob');
    await bob.waitFor(line(alice.nick, 'three'));
    const lines = bob.member.received().trim().split('\n');
    expect(lines.slice(-4).map((l) => l.replace(/^\d\d:\d\d /, ''))).toEqual([`* ${bob.nick} joins`, `* ${alice.nick} joins`, `${alice.nick}: two`, `${alice.nick}: three`]);
  }, T);

  it('refuses a taken alias, and a member known by its fingerprint is not asked again', async () => {
    const { port } = await host();
    const alice = await joinChat({ port }, await id('alice'), 'alice');
    expect(await turnedAway(port, await id('mallory'), 'alice', "The 'alice' alias is taken already.")).not.toMatch(/joins/);
    await alice.member.proc.kill();
    const again = await joinChat({ port }, await id('alice'), undefined);
    expect(again.nick).toMatch(/^alice\[\d+\]$/);
    expect(again.member.received()).not.toContain('Enter your alias');
  }, T);

  it('members only: a stranger is not recognized, a member is let in; a banned member is cut and kept out', async () => {
    const book = new MemoryBook();
    book.remember((await id('alice')).fingerprint, 'alice');
    const { room, port } = await host({ policy: () => 'members', book });
    expect(await turnedAway(port, await id('stranger'), undefined, "I don't recognize you.")).not.toContain('Enter your alias');
    const alice = await joinChat({ port }, await id('alice'), undefined);
    book.bans.add((await id('alice')).fingerprint);
    room.kick((await id('alice')).fingerprint, BANNED);
    await alice.waitFor(new RegExp(escapeRe(BANNED)));
    await alice.member.closed;
    expect(await turnedAway(port, await id('alice'), undefined, BANNED)).not.toMatch(/joins/);
  }, T);

  it('a member who floods is cut; the others are told it quit and go on chatting', async () => {
    const { port } = await host({ floodBurst: 10, floodPerSecond: 1 });
    const alice = await joinChat({ port }, await id('alice'), 'alice');
    const bob = await joinChat({ port }, await id('bob'), 'bob');
    const flood = await joinChat({ port }, await id('flood'), 'flood');
    await flood.member.type(Array.from({ length: 50 }, (_, i) => `spam ${i}`).join('\n') + '\n');
    await flood.waitFor(new RegExp(escapeRe(FLOOD_CUT)));
    await alice.waitFor(event(flood.nick, 'quits'));
    // What it said within its burst was relayed; the rest was not.
    await alice.waitFor(line(flood.nick, 'spam 9'));
    expect(alice.member.received()).not.toMatch(line(flood.nick, 'spam 49'));
    await bob.member.type('still here\n');
    await alice.waitFor(line(bob.nick, 'still here'));
  }, T);

  it('the room has a size cap: one more is told it is full', async () => {
    const { port } = await host({ maxMembers: 2 });
    await joinChat({ port }, await id('alice'), 'alice');
    await joinChat({ port }, await id('bob'), 'bob');
    await turnedAway(port, await id('carol'), undefined, ROOM_FULL);
  }, T);
});

describe('a RoomLink (a gateway user) in a hosted room', () => {
  // Without the room extension (an older gateway): lines, as any member. With it: room-extension.test.ts.
  it('joins with its alias, reads a member, and is read', async () => {
    const { port } = await host();
    const other = new RoomLink({
      fingerprint: roomId!.fingerprint, address: { host: '127.0.0.1', port }, dialer: directDialer(),
      tls: createTlsContext(await generateIdentity()), alias: 'carol', log: silentLogger, extension: false,
    });
    const me = new RoomLink({
      fingerprint: roomId!.fingerprint, address: { host: '127.0.0.1', port }, dialer: directDialer(),
      tls: createTlsContext(await generateIdentity()), alias: 'dave', log: silentLogger, extension: false,
    });
    const lines: RoomLine[] = [];
    me.on('line', (l) => lines.push(l));
    const joined = (l: RoomLink) => new Promise<RoomJoined>((r) => l.once('joined', r));
    const [carol, dave] = await Promise.all([joined(other), joined(me), other.start(), me.start()]);
    expect(dave.name).toMatch(/^dave\[\d+\]$/);
    expect(dave.asked).toBe(true);
    await other.send('hello dave');
    await expect.poll(() => lines.find((l) => l.kind === 'message'), { timeout: 10_000 }).toMatchObject({ kind: 'message', name: carol.name, text: 'hello dave' });
    await Promise.all([other.close(), me.close()]);
  }, T);
});
