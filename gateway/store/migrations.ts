// Numbered schema migrations, applied in order in one write transaction when the store opens.
// Append new versions (their SQL in schema-features.ts); never edit a released one (users' databases already ran it).
import type Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { V1, V2, V3, V4, V5, V6 } from './schema-core.js';
import { V7, V8, V9, V10, V11, V12 } from './schema-features.js';

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sql: V1 },
  { version: 2, sql: V2 },
  { version: 3, sql: V3 },
  { version: 4, sql: V4 },
  { version: 5, sql: V5 },
  { version: 6, sql: V6 },
  { version: 7, sql: V7 },
  { version: 8, sql: V8 },
  { version: 9, sql: V9 },
  { version: 10, sql: V10 },
  { version: 11, sql: V11 },
  { version: 12, sql: V12 },
];

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

/**
 * Brings the database to the latest version. BEGIN IMMEDIATE takes the write lock first, so two
 * processes opening the same file at once cannot both apply a migration; a failure rolls back entirely.
 */
export function migrate(
  db: Database.Database,
  now: () => number,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationResult {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}`);
  });
  const latest = migrations.length;
  const run = db.transaction((): MigrationResult => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
    );
    const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
    const from = row.v ?? 0;
    if (from > latest) {
      throw new StoreError(
        'newer-schema',
        `the database has schema version ${from}, newer than this tlsim-gateway knows (${latest}): upgrade tlsim-gateway`,
      );
    }
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    for (const m of migrations.slice(from)) {
      db.exec(m.sql);
      record.run(m.version, now());
    }
    return { from, to: latest };
  });
  return run.immediate();
}
