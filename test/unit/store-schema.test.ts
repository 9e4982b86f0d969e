// The database file a user finds in the data directory: created private, migrated once, reopened safely, never downgraded.
import { statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, StoreError, openStore } from '../../gateway/store/index.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(removeTmpDirs);

const FP = 'a'.repeat(64);
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('opening the store', () => {
  it('creates gateway.db in a new owner-only data directory, readable by the owner only', () => {
    const dir = join(tmpDir('tlsim-store'), 'nested', 'data');
    const store = openStore(dir);
    const acc = store.accounts.ensure('me@localhost');
    store.contacts.upsert(acc, FP);
    expect(store.path).toBe(join(dir, 'gateway.db'));
    expect(mode(dir)).toBe(0o700);
    expect(mode(store.path)).toBe(0o600);
    // The log holds the same data as the database until a checkpoint.
    expect(existsSync(`${store.path}-wal`)).toBe(true);
    expect(mode(`${store.path}-wal`)).toBe(0o600);
    store.close();
  });

  it('tightens a database file that was world-readable', () => {
    const dir = tmpDir('tlsim-store');
    const path = join(dir, 'gateway.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    openStore(dir).close();
    expect(mode(path)).toBe(0o600);
  });

  it('applies every migration on an empty database, then none on reopen', () => {
    const dir = tmpDir('tlsim-store');
    const first = openStore(dir);
    expect(first.schema).toEqual({ from: 0, to: MIGRATIONS.length });
    first.accounts.ensure('me@localhost');
    first.close();
    const again = openStore(dir);
    expect(again.schema).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length });
    expect(again.accounts.list().map((a) => a.jid)).toEqual(['me@localhost']);
    again.close();

    const db = new Database(join(dir, 'gateway.db'), { readonly: true });
    const versions = db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all();
    db.close();
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('uses WAL and enforces foreign keys', () => {
    const store = openStore(tmpDir('tlsim-store'));
    const db = new Database(store.path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // Per-connection settings are checked through their effect: a queue row needs a contact.
    const acc = store.accounts.ensure('me@localhost');
    expect(() => store.outbox.enqueue(acc, FP, 'x')).toThrow(StoreError);
    store.close();
  });

  it('refuses a database written by a newer version instead of damaging it', () => {
    const dir = tmpDir('tlsim-store');
    openStore(dir).close();
    const db = new Database(join(dir, 'gateway.db'));
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, 0)').run(MIGRATIONS.length + 1);
    db.close();
    let err: unknown;
    try {
      openStore(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('newer-schema');
    expect((err as StoreError).message).toMatch(/upgrade tlsim-gateway/);
  });

  it('is closed by close(), and closing twice is harmless', () => {
    const store = openStore(tmpDir('tlsim-store'));
    store.close();
    store.close();
    expect(() => store.accounts.list()).toThrow(/not open/);
  });
});
