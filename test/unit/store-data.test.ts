// Contacts, history and held requests as the bridge keeps them for each account, with limits a stranger cannot exceed.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StoreError, openStore, type Store } from '../../gateway/store/index.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

const open: Store[] = [];
function fresh(opts?: Parameters<typeof openStore>[1]): { store: Store; dir: string } {
  const dir = tmpDir('tlsim-store');
  const store = openStore(dir, opts);
  open.push(store);
  return { store, dir };
}
afterEach(() => open.splice(0).forEach((s) => s.close()));
afterAll(removeTmpDirs);

describe('accounts', () => {
  it('gives each JID one stable id', () => {
    const { store } = fresh({ now: () => 1000 });
    const me = store.accounts.ensure('me@localhost');
    const other = store.accounts.ensure('bob@example.org');
    expect(store.accounts.ensure('me@localhost')).toBe(me);
    expect(other).not.toBe(me);
    expect(store.accounts.get('me@localhost')).toEqual({ id: me, jid: 'me@localhost', createdAt: new Date(1000) });
    expect(store.accounts.get('nobody@localhost')).toBeUndefined();
    expect(store.accounts.list().map((a) => a.jid)).toEqual(['me@localhost', 'bob@example.org']);
  });
});

describe('contacts', () => {
  it('adds, renames, readdresses, changes state and removes a contact', () => {
    let t = 5000;
    const { store } = fresh({ now: () => t });
    const acc = store.accounts.ensure('me@localhost');
    expect(store.contacts.upsert(acc, A, { name: ' Alice ', address: 'peer.example.org:18765' })).toEqual({
      fingerprint: A,
      name: 'Alice',
      state: 'contact',
      address: 'peer.example.org:18765',
      addedAt: new Date(5000),
      gateway: false,
    });
    t = 6000;
    expect(store.contacts.setGateway(acc, A, true)?.gateway).toBe(true);
    expect(store.contacts.rename(acc, A, 'Alice W.')?.name).toBe('Alice W.');
    expect(store.contacts.setAddress(acc, A, '192.0.2.1:18765')?.address).toBe('192.0.2.1:18765');
    expect(store.contacts.touch(acc, A)?.lastSeenAt).toEqual(new Date(6000));
    expect(store.contacts.setState(acc, A, 'blocked')?.state).toBe('blocked');
    // A partial upsert keeps the fields it does not name, and the date the contact was added.
    expect(store.contacts.upsert(acc, A, { state: 'contact' })).toMatchObject({
      name: 'Alice W.',
      address: '192.0.2.1:18765',
      addedAt: new Date(5000),
      lastSeenAt: new Date(6000),
    });
    expect(store.contacts.rename(acc, A, null)?.name).toBeUndefined();
    expect(store.contacts.remove(acc, A)).toBe(true);
    expect(store.contacts.get(acc, A)).toBeUndefined();
    expect(store.contacts.remove(acc, A)).toBe(false);
  });

  it('answers undefined for changes to a peer that is not a contact', () => {
    const { store } = fresh();
    const acc = store.accounts.ensure('me@localhost');
    expect(store.contacts.rename(acc, A, 'x')).toBeUndefined();
    expect(store.contacts.setState(acc, A, 'blocked')).toBeUndefined();
    expect(store.contacts.touch(acc, A)).toBeUndefined();
  });

  it('lists all contacts or those in one state, in the order they were added', () => {
    let t = 1;
    const { store } = fresh({ now: () => t++ });
    const acc = store.accounts.ensure('me@localhost');
    store.contacts.upsert(acc, B, { state: 'requested' });
    store.contacts.upsert(acc, A);
    expect(store.contacts.list(acc).map((c) => c.fingerprint)).toEqual([B, A]);
    expect(store.contacts.list(acc, 'requested').map((c) => c.fingerprint)).toEqual([B]);
    expect(store.contacts.list(acc, 'blocked')).toEqual([]);
  });

  it('rejects malformed fingerprints, overlong names and unknown accounts', () => {
    const { store } = fresh({ limits: { maxNameLength: 5 } });
    const acc = store.accounts.ensure('me@localhost');
    expect(() => store.contacts.upsert(acc, A.toUpperCase())).toThrow(/64 lowercase hex/);
    expect(() => store.contacts.upsert(acc, A, { name: 'too long' })).toThrow(StoreError);
    expect(() => store.contacts.upsert(acc + 99, A)).toThrow(/no account/);
  });
});

describe('archive', () => {
  it('returns the last messages with a peer, oldest first', () => {
    const { store } = fresh();
    const acc = store.accounts.ensure('me@localhost');
    for (let i = 1; i <= 5; i++) {
      store.archive.append(acc, { fingerprint: A, direction: i % 2 ? 'in' : 'out', text: `m${i}`, stamp: i * 1000 });
    }
    store.archive.append(acc, { fingerprint: B, direction: 'in', text: 'other peer' });
    const last3 = store.archive.recent(acc, A, 3);
    expect(last3.map((e) => e.text)).toEqual(['m3', 'm4', 'm5']);
    expect(last3[1]).toMatchObject({ direction: 'out', stamp: new Date(4000), truncated: false, fingerprint: A });
  });

  it('keeps an oversized message cut at a character boundary and marked, and keeps the peer flag', () => {
    const { store } = fresh({ limits: { maxTextBytes: 5 } });
    const acc = store.accounts.ensure('me@localhost');
    const e = store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'ééé', xmppId: 'id1' });
    expect(e).toMatchObject({ text: 'éé', truncated: true, xmppId: 'id1' });
    expect(store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'ok', truncated: true }).truncated).toBe(true);
  });

  it('keeps history when the contact is removed', () => {
    const { store } = fresh();
    const acc = store.accounts.ensure('me@localhost');
    store.contacts.upsert(acc, A);
    store.archive.append(acc, { fingerprint: A, direction: 'out', text: 'hello' });
    store.contacts.remove(acc, A);
    expect(store.archive.recent(acc, A)).toHaveLength(1);
  });
});

describe('held messages from an unknown peer', () => {
  it('keeps them in order until the request is answered, then hands them out once', () => {
    const { store } = fresh();
    const acc = store.accounts.ensure('me@localhost');
    store.contacts.upsert(acc, A, { state: 'requested' });
    expect(store.held.add(acc, A, 'hello?', { stamp: 1000 })).toBe(true);
    expect(store.held.add(acc, A, 'are you there?', { stamp: 2000, truncated: true })).toBe(true);
    expect(store.held.countFor(acc, A)).toBe(2);
    const accepted = store.transaction(() => {
      store.contacts.setState(acc, A, 'contact');
      return store.held.take(acc, A);
    });
    expect(accepted).toEqual([
      { text: 'hello?', stamp: new Date(1000), truncated: false },
      { text: 'are you there?', stamp: new Date(2000), truncated: true },
    ]);
    expect(store.held.take(acc, A)).toEqual([]);
  });

  it('stops keeping messages past the per-peer cap, keeping the first ones', () => {
    const { store } = fresh({ limits: { maxHeldPerPeer: 3, maxHeldBytesPerPeer: 1000 } });
    const acc = store.accounts.ensure('me@localhost');
    store.contacts.upsert(acc, A, { state: 'requested' });
    const kept = ['1', '2', '3', '4', '5'].map((t) => store.held.add(acc, A, t));
    expect(kept).toEqual([true, true, true, false, false]);
    expect(store.held.take(acc, A).map((m) => m.text)).toEqual(['1', '2', '3']);
  });

  it('caps the bytes kept per peer too', () => {
    const { store } = fresh({ limits: { maxHeldPerPeer: 100, maxHeldBytesPerPeer: 10 } });
    const acc = store.accounts.ensure('me@localhost');
    store.contacts.upsert(acc, A, { state: 'requested' });
    expect(store.held.add(acc, A, '123456')).toBe(true);
    expect(store.held.add(acc, A, '123456')).toBe(false);
    expect(store.held.add(acc, A, '1234')).toBe(true);
  });

  it('drops them when the request is removed, and needs a contact row to hold anything', () => {
    const { store } = fresh();
    const acc = store.accounts.ensure('me@localhost');
    expect(() => store.held.add(acc, A, 'x')).toThrow(/not a contact/);
    store.contacts.upsert(acc, A, { state: 'requested' });
    store.held.add(acc, A, 'spam');
    store.contacts.remove(acc, A);
    expect(store.held.countFor(acc, A)).toBe(0);
  });
});

describe('accounts are isolated', () => {
  it('never shows one account the contacts, queue, history or held messages of another', () => {
    const { store, dir } = fresh();
    const me = store.accounts.ensure('me@localhost');
    const bob = store.accounts.ensure('bob@localhost');
    store.contacts.upsert(me, A, { name: 'mine' });
    store.contacts.upsert(bob, A, { name: 'bobs', state: 'requested' });
    const queued = store.outbox.enqueue(me, A, 'from me');
    store.outbox.enqueue(bob, A, 'from bob');
    store.archive.append(me, { fingerprint: A, direction: 'out', text: 'from me' });
    store.held.add(bob, A, 'for bob');

    expect(store.contacts.get(me, A)?.name).toBe('mine');
    expect(store.contacts.get(bob, A)?.name).toBe('bobs');
    expect(store.outbox.peek(me, A, 10).map((m) => m.text)).toEqual(['from me']);
    expect(store.outbox.peek(bob, A, 10).map((m) => m.text)).toEqual(['from bob']);
    expect(store.outbox.remove(bob, queued.seq)).toBe(false);
    expect(store.archive.recent(bob, A)).toEqual([]);
    expect(store.held.take(me, A)).toEqual([]);
    expect(store.held.countFor(bob, A)).toBe(1);

    store.contacts.remove(me, A);
    expect(store.contacts.get(bob, A)?.name).toBe('bobs');
    expect(store.outbox.countFor(bob, A)).toBe(1);

    // Removing an account removes everything it owns and nothing else.
    expect(store.accounts.remove(bob)).toBe(true);
    expect(store.outbox.countFor(bob, A)).toBe(0);
    expect(store.archive.recent(me, A)).toHaveLength(1);
    store.close();
    const again = openStore(dir);
    open.push(again);
    expect(again.accounts.list().map((a) => a.jid)).toEqual(['me@localhost']);
  });
});
