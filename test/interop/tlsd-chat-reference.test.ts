// What the reference chat room really does (docs/rooms.md): TLSd's sample chat built from its source, members
// on gnutls-cli. These are the facts group chat in the gateway has to speak to reference rooms and members.
import { afterAll, describe, expect, it } from 'vitest';
import { gnutlsCli, type DialingPeer } from '../e2e/support/reference-peer.js';
import { escapeRe as escape, joinChat, MINUTE } from '../support/tlsd-chat-member.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { startTlsdChat, TLSD_BUILD_TOOLS, type TlsdChat } from '../support/tlsd.js';
import { interopSuite } from '../support/tools.js';

const T = 90_000;

interopSuite('the reference chat room (tlsd + fp2alias + tlsd-chat.sh + ncat --broker)', [...TLSD_BUILD_TOOLS, 'gnutls-cli', 'ncat', 'openssl'], () => {
  let room: TlsdChat;
  afterAll(async () => {
    await room?.stop();
    await killAll();
    removeTmpDirs();
  });

  /** A member dials, answers the alias question (unless known), and reads its own join line. */
  async function join(name: string, opts: { known?: boolean } = {}): Promise<{ member: DialingPeer; nick: string }> {
    const id = ids.get(name) ?? (await makeOpensslIdentity(tmpDir(`member-${name}`)));
    ids.set(name, id);
    const { member, nick } = await joinChat(room, id, opts.known ? undefined : name);
    return { member, nick };
  }
  const ids = new Map<string, Awaited<ReturnType<typeof makeOpensslIdentity>>>();

  describe('a room with two members', () => {
    it('asks an alias once per fingerprint, announces joins and quits, relays lines to the others but never back, strips control characters', async () => {
      room = await startTlsdChat(await makeOpensslIdentity(tmpDir('room')));
      const alice = await join('alice');
      const bob = await join('bob');
      await expect.poll(() => alice.member.received(), { timeout: 20_000 }).toMatch(new RegExp(`^${MINUTE} \\* ${escape(bob.nick)} joins$`, 'm'));

      await bob.member.type('hello room\n');
      await expect.poll(() => alice.member.received(), { timeout: 20_000 }).toMatch(new RegExp(`^${MINUTE} ${escape(bob.nick)}: hello room$`, 'm'));
      await bob.member.type('a\u0001b\u0007c\n');
      await expect.poll(() => alice.member.received(), { timeout: 20_000 }).toMatch(new RegExp(`^${MINUTE} ${escape(bob.nick)}: abc$`, 'm'));
      // The broker never echoes: bob reads alice's lines only.
      await alice.member.type('hi bob\n');
      await expect.poll(() => bob.member.received(), { timeout: 20_000 }).toMatch(new RegExp(`${escape(alice.nick)}: hi bob`));
      expect(bob.member.received()).not.toMatch(/bob\[\d+\]: hello room/);

      bob.member.proc.signal('SIGTERM');
      await expect.poll(() => alice.member.received(), { timeout: 20_000 }).toMatch(new RegExp(`^${MINUTE} \\* ${escape(bob.nick)} quits$`, 'm'));

      // Known fingerprint: no question the second time; a new member may not take a known alias.
      const again = await join('bob', { known: true });
      expect(again.member.received()).not.toContain('Enter your alias');
      const carolId = await makeOpensslIdentity(tmpDir('member-carol'));
      const carol = await gnutlsCli(carolId, room.port);
      await expect.poll(() => carol.received(), { timeout: 20_000 }).toContain('Enter your alias, please.');
      await carol.type('alice\n');
      await carol.closed;
      expect(carol.received()).toContain("The 'alice' alias is taken already.");
    }, T);
  });
});

