// The history as clients page it (XEP-0313 on the store): stable ids, ranges, id bounds, both directions,
// preferences, retention, and a v2 database with history migrated to ids without losing its order.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startArchiveRetention } from '../../gateway/daemon/archive-retention.js';
import { MIGRATIONS, StoreError, openStore, type Store } from '../../gateway/store/index.js';
import { migrate } from '../../gateway/store/migrations.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(removeTmpDirs);

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);

function fresh(now?: () => number): { store: Store; acc: number } {
  const store = openStore(tmpDir('tlsim-archive'), now ? { now } : {});
  return { store, acc: store.accounts.ensure('me@localhost') };
}
const texts = (p: { entries: { text: string }[] }) => p.entries.map((e) => e.text);

describe('archive', () => {
  it('gives every message an id of its own that finds it again', () => {
    const { store, acc } = fresh();
    const e = store.archive.append(acc, { fingerprint: A, direction: 'out', text: 'hi', xmppId: 'c1', originId: 'o1' });
    const chosen = store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'yo', stanzaId: 'chosen-id' });
    expect(e.stanzaId).toMatch(/^[0-9a-f-]{36}$/);
    expect(chosen.stanzaId).toBe('chosen-id');
    expect(store.archive.query(acc, { ids: [e.stanzaId], limit: 10 }).entries).toEqual([e]);
    expect(e).toMatchObject({ xmppId: 'c1', originId: 'o1', direction: 'out' });
    // The same id twice in one account is refused: ids are never reused.
    expect(() => store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'again', stanzaId: 'chosen-id' })).toThrow(/UNIQUE/);
    store.close();
  });

  it('pages forwards and backwards by id, within time ranges and per peer, and counts what matches', () => {
    const { store, acc } = fresh();
    const all = [0, 1, 2, 3, 4, 5].map((h) => store.archive.append(acc, { fingerprint: h % 3 === 0 ? B : A, direction: 'in', text: `h${h}`, stamp: T0 + h * H }));
    const id = (h: number) => all[h]!.stanzaId;
    const first = store.archive.query(acc, { limit: 2, count: true });
    expect([texts(first), first.more, first.total]).toEqual([['h0', 'h1'], true, 6]);
    expect(texts(store.archive.query(acc, { limit: 2, afterId: id(1) }))).toEqual(['h2', 'h3']);
    const last = store.archive.query(acc, { limit: 4, afterId: id(1) });
    expect([texts(last), last.more]).toEqual([['h2', 'h3', 'h4', 'h5'], false]);
    // Backwards: newest first, as read.
    expect(texts(store.archive.query(acc, { limit: 2, reverse: true }))).toEqual(['h5', 'h4']);
    expect(texts(store.archive.query(acc, { limit: 2, reverse: true, beforeId: id(4) }))).toEqual(['h3', 'h2']);
    expect(texts(store.archive.query(acc, { limit: 9, afterId: id(0), beforeId: id(3) }))).toEqual(['h1', 'h2']);
    const range = store.archive.query(acc, { limit: 9, start: new Date(T0 + H), end: new Date(T0 + 4 * H), fingerprint: A, count: true });
    expect([texts(range), range.total]).toEqual([['h1', 'h2', 'h4'], 3]);
    expect(texts(store.archive.query(acc, { limit: 2, offset: 3 }))).toEqual(['h3', 'h4']);
    // The whole-archive count is kept between queries: it follows new messages.
    store.archive.append(acc, { fingerprint: A, direction: 'out', text: 'h6', stamp: T0 + 6 * H });
    expect(store.archive.query(acc, { limit: 1, reverse: true, count: true })).toMatchObject({ total: 7, entries: [{ text: 'h6' }] });
    for (const q of [{ afterId: 'nope' }, { beforeId: 'nope' }, { ids: [id(0), 'nope'] }]) {
      expect(() => store.archive.query(acc, { limit: 5, ...q })).toThrow(StoreError);
    }
    // Another account sees none of it, and cannot use its ids.
    const other = store.accounts.ensure('you@localhost');
    expect(store.archive.query(other, { limit: 9 }).entries).toEqual([]);
    expect(() => store.archive.query(other, { limit: 9, afterId: id(0) })).toThrow(/no such message/);
    store.close();
  });

  it('never stamps a new message before the last one, so "after the last id I saw" misses nothing when the clock steps back', () => {
    let clock = T0 + 10 * H;
    const { store, acc } = fresh(() => clock);
    const seen = store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'before the step' });
    clock = T0; // NTP steps the clock back ten hours
    const later = store.archive.append(acc, { fingerprint: A, direction: 'out', text: 'after the step' });
    expect(later.stamp.getTime()).toBe(seen.stamp.getTime());
    expect(texts(store.archive.query(acc, { limit: 9, afterId: seen.stanzaId }))).toEqual(['after the step']);
    store.close();
  });

  it('keeps preferences: a default, and per-peer rules that win over it', () => {
    const { store, acc } = fresh();
    expect(store.archive.prefs(acc)).toEqual({ default: 'always', rules: [] });
    expect(store.archive.wants(acc, A, false)).toBe(true);
    store.archive.setPrefs(acc, { default: 'roster', rules: [{ jid: `${B}@peers.localhost`, peer: B, rule: 'never' }, { jid: 'x@example.org', rule: 'always' }] });
    expect([store.archive.wants(acc, A, true), store.archive.wants(acc, A, false), store.archive.wants(acc, B, true)]).toEqual([true, false, false]);
    store.archive.setPrefs(acc, { default: 'never', rules: [] });
    expect(store.archive.wants(acc, A, true)).toBe(false);
    expect(() => store.archive.setPrefs(acc, { default: 'always', rules: Array.from({ length: 1001 }, (_, i) => ({ jid: `u${i}@x`, rule: 'never' as const })) })).toThrow(StoreError);
    store.close();
  });

  it('deletes what is older than the retention in small batches, at start, and keeps the rest', async () => {
    const now = T0 + 40 * 24 * H;
    const { store, acc } = fresh(() => now);
    for (let i = 0; i < 25; i++) store.archive.append(acc, { fingerprint: A, direction: 'in', text: `old${i}`, stamp: T0 + i });
    const kept = store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'recent', stamp: now - 24 * H });
    const log = pino({ level: 'silent' });
    expect(store.archive.query(acc, { limit: 1, count: true }).total).toBe(26);
    const forever = startArchiveRetention({ store, days: 0, log, now: () => now });
    expect(await forever.prune()).toBe(0);
    const retention = startArchiveRetention({ store, days: 30, log, batch: 10, now: () => now });
    // The pass begun at start deletes them, ten at a time; the next finds nothing left.
    expect(await retention.prune()).toBe(25);
    expect(await retention.prune()).toBe(0);
    retention.stop();
    expect(store.archive.query(acc, { limit: 50, count: true })).toEqual({ entries: [kept], more: false, total: 1 });
    store.close();
  });
});

describe('schema v3', () => {
  it('gives the history of a v2 database ids, in its order, and keeps held messages and the queue', () => {
    const dir = tmpDir('tlsim-archive-v2');
    const db = new Database(join(dir, 'gateway.db'));
    migrate(db, () => T0, MIGRATIONS.slice(0, 2));
    db.prepare("INSERT INTO accounts (id, jid, created_at) VALUES (1, 'me@localhost', 0)").run();
    db.prepare("INSERT INTO contacts (account_id, fingerprint, state, added_at) VALUES (1, ?, 'requested', 0)").run(A);
    const row = db.prepare('INSERT INTO archive (account_id, fingerprint, direction, text, stamp, xmpp_id) VALUES (1, ?, ?, ?, ?, ?)');
    for (let i = 0; i < 300; i++) row.run(i % 2 ? A : B, i % 2 ? 'in' : 'out', `old ${i}`, T0 + i * 1000, i % 2 ? null : `x${i}`);
    db.prepare("INSERT INTO held (account_id, fingerprint, text, stamp) VALUES (1, ?, 'held', 5)").run(A);
    db.close();

    const store = openStore(dir);
    expect(store.schema).toEqual({ from: 2, to: MIGRATIONS.length });
    const page = store.archive.query(1, { limit: 250, count: true });
    expect(page.total).toBe(300);
    expect(page.entries.slice(0, 3).map((e) => [e.text, e.xmppId])).toEqual([['old 0', 'x0'], ['old 1', undefined], ['old 2', 'x2']]);
    const all = [...page.entries, ...store.archive.query(1, { limit: 250, afterId: page.entries.at(-1)!.stanzaId }).entries];
    expect(all.map((e) => e.text)).toEqual(Array.from({ length: 300 }, (_, i) => `old ${i}`));
    expect(new Set(all.map((e) => e.stanzaId)).size).toBe(300);
    for (const e of all) expect(e.stanzaId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // New rows go on after the old ones, ids and order alike.
    const next = store.archive.append(1, { fingerprint: A, direction: 'in', text: 'new' });
    expect(next.id).toBe(301);
    expect(store.held.take(1, A)).toEqual([{ text: 'held', stamp: new Date(5), truncated: false }]);
    store.close();
    // Ids survive a reopen.
    const again = openStore(dir);
    expect(again.archive.query(1, { limit: 1 }).entries[0]!.stanzaId).toBe(all[0]!.stanzaId);
    again.close();
  });
});
