// What the relay's per-message store path relies on after it was made cheaper (bench/README.md, issue 14): the
// contact look-up cache never answers what a write or a rollback changed, the queue limit holds when the quick
// seq-span check cannot decide or the in-memory bound of a queue overcounts, and ids made close in time sort
// together while staying unique and random.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StoreError, openStore, type Store } from '../../gateway/store/index.js';
import { timeOrderedId } from '../../gateway/store/common.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

const open: Store[] = [];
function fresh(opts?: Parameters<typeof openStore>[1]) {
  const store = openStore(tmpDir('tlsim-hot-path'), opts);
  open.push(store);
  const acc = store.accounts.ensure('me@localhost');
  return { store, acc };
}
afterEach(() => open.splice(0).forEach((s) => s.close()));
afterAll(() => removeTmpDirs());

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    if (e instanceof StoreError) return e.code;
    throw e;
  }
  return undefined;
};

describe('contact look-ups', () => {
  it('answer every change at once: add, rename, state, removal', () => {
    const { store, acc } = fresh();
    expect(store.contacts.get(acc, A)).toBeUndefined();
    store.contacts.upsert(acc, A, { name: 'Alice' });
    expect(store.contacts.get(acc, A)?.name).toBe('Alice');
    store.contacts.rename(acc, A, 'Al');
    expect(store.contacts.get(acc, A)?.name).toBe('Al');
    store.contacts.setState(acc, A, 'blocked');
    expect(store.contacts.get(acc, A)?.state).toBe('blocked');
    store.contacts.remove(acc, A);
    expect(store.contacts.get(acc, A)).toBeUndefined();
  });

  it('never answer a change that a failed savepoint of the group commit undid', () => {
    const { store, acc } = fresh();
    store.contacts.upsert(acc, A, { name: 'before' });
    expect(store.contacts.get(acc, A)?.name).toBe('before');
    expect(() =>
      store.group.run(() => {
        store.contacts.rename(acc, A, 'undone');
        expect(store.contacts.get(acc, A)?.name).toBe('undone');
        throw new Error('this message fails');
      }),
    ).toThrow('this message fails');
    expect(store.contacts.get(acc, A)?.name).toBe('before');
    store.group.commitNow();
    expect(store.contacts.get(acc, A)?.name).toBe('before');
  });

  it('never answer a change that a rolled-back transaction undid, nor a removed account', () => {
    const { store, acc } = fresh();
    store.contacts.upsert(acc, A, { name: 'kept' });
    expect(store.contacts.get(acc, A)?.name).toBe('kept');
    expect(() =>
      store.transaction(() => {
        store.contacts.upsert(acc, B);
        expect(store.contacts.get(acc, B)?.state).toBe('contact');
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(store.contacts.get(acc, B)).toBeUndefined();
    store.accounts.remove(acc);
    expect(store.contacts.get(acc, A)).toBeUndefined();
  });
});

describe('the queue limit', () => {
  it('holds when other peers interleave (the seq span is over the limit, the count is not)', () => {
    const { store, acc } = fresh({ limits: { maxQueuedPerPeer: 3 } });
    store.contacts.upsert(acc, A);
    store.contacts.upsert(acc, B);
    const a1 = store.outbox.enqueue(acc, A, 'a1');
    for (let i = 0; i < 5; i++) store.outbox.remove(acc, store.outbox.enqueue(acc, B, `b${i}`).seq);
    store.outbox.enqueue(acc, A, 'a2');
    // A's span (a1 … a2) is 7 seqs with 2 queued: the third fits, the fourth is refused.
    store.outbox.enqueue(acc, A, 'a3');
    expect(codeOf(() => store.outbox.enqueue(acc, A, 'a4'))).toBe('queue-full');
    store.outbox.remove(acc, a1.seq);
    store.outbox.enqueue(acc, A, 'a4');
    expect(store.outbox.peek(acc, A, 10).map((m) => m.text)).toEqual(['a2', 'a3', 'a4']);
  });

  it('holds across messages counted in memory: rolled-back rows, removed runs and a full queue that empties again', () => {
    const { store, acc } = fresh({ limits: { maxQueuedPerPeer: 3 } });
    store.contacts.upsert(acc, A);
    store.contacts.upsert(acc, B);
    const a1 = store.outbox.enqueue(acc, A, 'a1');
    // A row undone with its transaction: counted, but not queued, so it must not take a place.
    expect(() =>
      store.transaction(() => {
        store.outbox.enqueue(acc, A, 'undone');
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    store.outbox.enqueue(acc, A, 'a2');
    const a3 = store.outbox.enqueue(acc, A, 'a3');
    expect(codeOf(() => store.outbox.enqueue(acc, A, 'a4'))).toBe('queue-full');
    // Each peer has its own limit.
    store.outbox.enqueue(acc, B, 'b1');
    // The sent run leaves: three places free again, and the fourth is refused again.
    expect(store.outbox.removeRange(acc, A, a1.seq, a3.seq)).toBe(3);
    for (const t of ['a4', 'a5', 'a6']) store.outbox.enqueue(acc, A, t);
    expect(codeOf(() => store.outbox.enqueue(acc, A, 'a7'))).toBe('queue-full');
    expect(store.outbox.peek(acc, A, 10).map((m) => m.text)).toEqual(['a4', 'a5', 'a6']);
    expect(store.outbox.countFor(acc, B)).toBe(1);
  });

  it('removes a sent run of one peer in one range, leaving other peers and later messages queued', () => {
    const { store, acc } = fresh();
    store.contacts.upsert(acc, A);
    store.contacts.upsert(acc, B);
    const a = ['a1', 'a2', 'a3', 'a4'].map((t, i) => (i === 2 && store.outbox.enqueue(acc, B, 'b between'), store.outbox.enqueue(acc, A, t)));
    expect(store.outbox.removeRange(acc, A, a[0]!.seq, a[2]!.seq)).toBe(3);
    expect(store.outbox.peek(acc, A, 10).map((m) => m.text)).toEqual(['a4']);
    expect(store.outbox.peek(acc, B, 10).map((m) => m.text)).toEqual(['b between']);
  });

  it('gives back what was written: seq in order, ids and requests', () => {
    const { store, acc } = fresh();
    store.contacts.upsert(acc, A);
    const one = store.outbox.enqueue(acc, A, 'one', { xmppId: 'x1', linkId: 'l1', receipt: true });
    const two = store.outbox.enqueue(acc, A, 'two');
    expect(two.seq).toBeGreaterThan(one.seq);
    expect(store.outbox.peek(acc, A, 2)).toEqual([one, two]);
  });
});

describe('archive entries', () => {
  it('are what a read gives back, with time-ordered stanza ids', () => {
    const { store, acc } = fresh();
    store.contacts.upsert(acc, A);
    const e = store.archive.append(acc, { fingerprint: A, direction: 'out', text: 'hé', xmppId: 'x', linkId: 'l', originId: 'o' });
    const f = store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'later' });
    expect(store.archive.recent(acc, A)).toEqual([e, f]);
    for (const id of [e.stanzaId, f.stanzaId]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  });
});

describe('timeOrderedId', () => {
  it('is a UUID version 7: the time first, then random bits that differ every time', () => {
    const at = Date.UTC(2026, 11, 3, 18, 0, 0);
    const ids = Array.from({ length: 1000 }, () => timeOrderedId(at));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(1000);
    expect(ids[0]!.replace('-', '').slice(0, 12)).toBe(at.toString(16).padStart(12, '0'));
    expect(timeOrderedId(at + 1) > timeOrderedId(at)).toBe(true);
  });
});
