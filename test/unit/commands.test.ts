// The shared command layer over a fake peer network: parsing typed lines, finding contacts by
// name or fingerprint prefix, clear errors, and the text + data each command returns.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Contact, SelfInfo } from '../../gateway/bridge/contract.js';
import { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { ACTIONS } from '../../gateway/commands/actions.js';
import { adHocItems, COMMANDS, helpText, runCommand, runCommandLine, type CommandContext } from '../../gateway/commands/index.js';
import { words } from '../../gateway/commands/line.js';

const SELF = 'f'.repeat(64);
const A = 'a1'.repeat(32);
const A2 = 'a1a1a1a1' + 'b'.repeat(56); // shares A's first 8 hex characters
const B = 'b2'.repeat(32);

/** FakePeerNetwork has no identity of its own: status and share need one. */
class SelfNetwork extends FakePeerNetwork {
  self: SelfInfo = {
    fingerprint: SELF,
    share: `tlsim://${SELF}@192.0.2.7:4433`,
    listening: ['0.0.0.0:4433'],
    transport: 'direct',
    online: 1,
    queued: 3,
  };
  selfInfo(): SelfInfo {
    return this.self;
  }
}

describe('commands', () => {
  let net: SelfNetwork;
  let ctx: CommandContext;
  const line = (l: string) => runCommandLine(ctx, l);
  beforeEach(() => {
    net = new SelfNetwork();
    ctx = { network: net, peerDomain: 'peers.localhost' };
  });

  it('has one action per command, and help lists every usage', async () => {
    expect(Object.keys(ACTIONS).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    const help = await line('  HELP ');
    expect(help.ok).toBe(true);
    for (const c of COMMANDS) for (const form of c.usage.split(' | ')) expect(help.text).toContain(form);
    expect(help.text).toBe(helpText());
    expect((await line('help rename')).text).toContain('rename <contact> <new name>');
    expect(adHocItems().map((i) => i.node)).not.toContain('help');
  });

  it('unknown and empty commands point to help', async () => {
    for (const l of ['frobnicate now', '   ']) {
      const r = await line(l);
      expect(r.ok).toBe(false);
      expect(r.text).toContain('help');
    }
    expect((await runCommand(ctx, 'nope', {})).ok).toBe(false);
  });

  it('adds from a share string, with a name of several words', async () => {
    const r = await line(`add tlsim://${A.toUpperCase()}@Example.ORG:4433 Alice Smith`);
    expect(r.ok).toBe(true);
    expect(r.text).toContain('Added Alice Smith (a1a1a1a1…)');
    expect(net.getContact(A)).toMatchObject({ name: 'Alice Smith', address: 'example.org:4433', state: 'contact' });
    expect((r.data as Contact).id).toBe(A);
  });

  it('adds from fingerprint, host and port (IPv6 too), and from fingerprint alone', async () => {
    expect((await line(`add ${A} 192.0.2.1 5000 Alice`)).ok).toBe(true);
    expect(net.getContact(A)).toMatchObject({ name: 'Alice', address: '192.0.2.1:5000' });
    expect((await line(`add ${B} ::1 5001`)).ok).toBe(true);
    expect(net.getContact(B)?.address).toBe('[::1]:5001');
    const c = 'c3'.repeat(32);
    expect((await line(`add ${c} peer.example:6000 Carol`)).ok).toBe(true);
    expect(net.getContact(c)).toMatchObject({ name: 'Carol', address: 'peer.example:6000' });
    const d = 'd4'.repeat(32);
    const r = await line(`add ${d}`);
    expect(r.text).toContain('no address yet');
  });

  it('explains bad share strings, fingerprints and addresses', async () => {
    const bad = await line(`add tlsim://${A}@example.org`);
    expect(bad).toMatchObject({ ok: false, text: 'not a tlsim share string: missing ":port" after the host' });
    expect((await line('add 1234 host 5')).text).toBe('"1234" is not a fingerprint (64 hex characters)');
    expect((await line(`add ${A} host`)).text).toContain('add <fingerprint> <host> <port>');
    expect((await line(`add ${A} 999.1.1.1 80`)).text).toContain('not a valid IPv4 address');
    expect((await line('add')).text).toContain('add needs share string');
    expect((await line(`add ${SELF} 192.0.2.1 1`)).text).toBe('that is your own fingerprint');
    expect((await runCommand(ctx, 'add', { peer: `tlsim://${A}@h.example:1`, address: 'x:2' })).text).toContain('already holds');
    expect(net.listContacts()).toEqual([]);
  });

  it('lists contacts with name, short fingerprint, link, state and address; data is the Contact array', async () => {
    net.addFakeContact({ id: A, name: 'Alice', online: true, address: 'a.example:1' });
    net.addFakeContact({ id: B, name: 'Bob', state: 'blocked' });
    const r = await line('list');
    expect(r.text.split('\n')).toEqual([
      '2 contacts, 1 online (name · fingerprint · link · state · address):',
      'Alice · a1a1a1a1… · online · contact · a.example:1',
      'Bob · b2b2b2b2… · offline · blocked · no address',
    ]);
    expect((r.data as Contact[]).map((c) => c.id)).toEqual([A, B]);
    await net.removeContact(A);
    await net.removeContact(B);
    expect((await line('list')).text).toContain('No contacts yet');
  });

  it('names contacts by name (any case), fingerprint, prefix or JID; says when it is ambiguous or unknown', async () => {
    net.addFakeContact({ id: A, name: 'Alice' });
    net.addFakeContact({ id: A2, name: 'Alice' });
    net.addFakeContact({ id: B, name: 'Bob' });
    expect((await line('remove bob')).ok).toBe(true);
    expect(net.getContact(B)).toBeUndefined();

    const amb = await line('remove Alice');
    expect(amb.ok).toBe(false);
    expect(amb.text).toBe('ambiguous: Alice matches Alice (a1a1a1a1…) and Alice (a1a1a1a1…); give more of the fingerprint');
    expect((await line('remove a1a1a1a1')).text).toMatch(/^ambiguous: a1a1a1a1 matches/);
    expect((await line('remove a1a1')).text).toBe('no contact named a1a1 (a fingerprint prefix needs at least 8 hex characters)');
    expect((await line('remove Zed')).text).toBe('no contact named Zed');

    expect((await line('remove A1A1A1A1A1')).ok).toBe(true); // unambiguous prefix, any case
    expect(net.getContact(A)).toBeUndefined();
    expect((await line(`remove ${A2}@peers.localhost`)).ok).toBe(true);
    expect(net.listContacts()).toEqual([]);
  });

  it('renames, with spaces in both the old and the new name', async () => {
    net.addFakeContact({ id: A, name: 'Alice Smith' });
    net.addFakeContact({ id: B, name: 'Bob' });
    const r = await line('rename alice smith Ally the Great');
    expect(r).toMatchObject({ ok: true, text: 'Renamed Alice Smith to Ally the Great (a1a1a1a1…)' });
    expect(net.getContact(A)?.name).toBe('Ally the Great');
    expect((await line('rename "Bob" Robert Jr')).ok).toBe(true);
    expect(net.getContact(B)?.name).toBe('Robert Jr');
    expect((await line('rename b2b2b2b2')).text).toContain('rename needs new name');
    expect((await line('rename Nobody Here')).text).toBe('no contact named Nobody');
  });

  it('blocks and unblocks, also a peer that was never a contact', async () => {
    net.addFakeContact({ id: A, name: 'Alice', online: true });
    expect((await line('block Alice')).text).toBe(`Blocked Alice (a1a1a1a1…). To undo: unblock Alice`);
    expect(net.listBlocked()).toEqual([A]);
    expect((await line('block alice')).text).toContain('already blocked');
    expect((await line(`block ${B}`)).ok).toBe(true);
    expect(net.listBlocked().sort()).toEqual([A, B].sort());

    expect((await line('unblock Alice')).ok).toBe(true);
    expect(net.getContact(A)?.state).toBe('contact');
    // unblock looks only among blocked peers.
    expect((await line('unblock Alice')).text).toBe('no blocked peer named Alice');
  });

  it('shows, accepts and denies pending requests', async () => {
    expect((await line('requests')).text).toBe('No pending requests');
    net.requestFrom(A, 'Alice');
    net.requestFrom(B, 'Bob');
    const r = await line('requests');
    expect(r.text).toContain(`Alice · ${A}`);
    expect((r.data as Contact[]).map((c) => c.id)).toEqual([A, B]);
    expect((await line(`accept ${A}`)).text).toBe('Accepted Alice (a1a1a1a1…): now a contact');
    expect(net.getContact(A)?.state).toBe('contact');
    expect((await line(`accept ${A}`)).text).toBe('no pending request with fingerprint a1a1a1a1…');
    expect((await line('deny bob')).ok).toBe(true);
    expect(net.getContact(B)).toBeUndefined();
  });

  it('prints the share string and the status from selfInfo()', async () => {
    const s = await line('share');
    expect(s).toMatchObject({ ok: true, text: `tlsim://${SELF}@192.0.2.7:4433` });
    net.addFakeContact({ id: A, name: 'Alice', online: true });
    const st = await line('status');
    expect(st.text).toContain(`Fingerprint: ${SELF}`);
    expect(st.text).toContain('Listening: 0.0.0.0:4433');
    expect(st.text).toContain('Transport: direct');
    expect(st.text).toContain('Peers online: 1 (1 contact)');
    expect(st.text).toContain('Queued messages: 3');
    expect(st.data).toMatchObject({ fingerprint: SELF, queued: 3, contacts: 1 });

    net.self = { ...net.self, share: undefined, listening: [] };
    expect((await line('share')).text).toContain(`no share string`);
    expect((await line('share')).ok).toBe(false);
  });

  it('says so when the network has no selfInfo()', async () => {
    const plain: CommandContext = { network: new FakePeerNetwork(), peerDomain: 'peers.localhost' };
    expect(await runCommandLine(plain, 'share')).toMatchObject({ ok: false, text: 'this peer network cannot tell who we are' });
  });

  it('turns refusals from the network (StanzaError) into readable failures, and rethrows bugs', async () => {
    net.addFakeContact({ id: A, name: 'Alice' });
    const { StanzaError } = await import('../../gateway/xmpp/errors.js');
    net.renameContact = async () => {
      throw new StanzaError('not-acceptable', 'names are at most 64 characters');
    };
    expect(await line('rename Alice x')).toEqual({ ok: false, text: 'names are at most 64 characters' });
    net.removeContact = async () => {
      throw new TypeError('boom');
    };
    await expect(line('remove Alice')).rejects.toThrow('boom');
  });

  it('splits words with "quoted parts"', () => {
    expect(words(`a  "b c"  d`)).toEqual(['a', 'b c', 'd']);
  });
});
