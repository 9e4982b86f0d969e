// Numbered schema migrations, applied in order in one write transaction when the store opens.
// Append new versions; never edit a released one (users' databases already ran it).
import type Database from 'better-sqlite3';
import { StoreError } from './errors.js';

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

// Everything is keyed by account from day one: the transport mode (component) serves many XMPP users,
// each with an identity of their own. Times are milliseconds since the epoch.
const V1 = `
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  jid TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE contacts (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
  name TEXT,
  state TEXT NOT NULL CHECK (state IN ('contact', 'requested', 'blocked')),
  address TEXT,
  added_at INTEGER NOT NULL,
  last_seen_at INTEGER,
  PRIMARY KEY (account_id, fingerprint)
) STRICT, WITHOUT ROWID;

-- The persistent outgoing queue. A row leaves only after its text was written to the peer's link;
-- removing the contact drops what was still queued for it (it must not go out later).
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  text TEXT NOT NULL,
  xmpp_id TEXT,
  queued_at INTEGER NOT NULL,
  FOREIGN KEY (account_id, fingerprint) REFERENCES contacts(account_id, fingerprint) ON DELETE CASCADE
) STRICT;
CREATE INDEX outbox_by_peer ON outbox(account_id, fingerprint, seq);

-- Every message in and out. Kept when a contact is removed: history is the user's, not the roster's.
CREATE TABLE archive (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  text TEXT NOT NULL,
  stamp INTEGER NOT NULL,
  xmpp_id TEXT,
  truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1))
) STRICT;
CREATE INDEX archive_by_peer ON archive(account_id, fingerprint, id);

-- Messages from a peer whose contact request is not answered yet (policy "ask").
CREATE TABLE held (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  text TEXT NOT NULL,
  stamp INTEGER NOT NULL,
  truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
  FOREIGN KEY (account_id, fingerprint) REFERENCES contacts(account_id, fingerprint) ON DELETE CASCADE
) STRICT;
CREATE INDEX held_by_peer ON held(account_id, fingerprint, seq);
`;

// Stanzas kept for a user who is offline, so that a restart of the gateway does not lose them.
const V2 = `
CREATE TABLE undelivered (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  stanza TEXT NOT NULL,
  stored_at INTEGER NOT NULL
) STRICT;
CREATE INDEX undelivered_by_account ON undelivered(account_id, seq);
`;

// What the user keeps on the server for their clients: PEP nodes and items (XEP-0163 over XEP-0060:
// avatars, bookmarks, OMEMO keys...), private XML (XEP-0049) and their own vCard (XEP-0054).
// Payloads are XML text; the store knows nothing of XMPP. Items keep their publication order (seq).
const V5 = `
CREATE TABLE pep_nodes (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  node TEXT NOT NULL,
  access_model TEXT NOT NULL CHECK (access_model IN ('presence', 'open', 'whitelist')),
  max_items INTEGER NOT NULL CHECK (max_items >= 1),
  persist_items INTEGER NOT NULL DEFAULT 1 CHECK (persist_items IN (0, 1)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, node)
) STRICT, WITHOUT ROWID;

CREATE TABLE pep_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL,
  node TEXT NOT NULL,
  item_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  publisher TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  UNIQUE (account_id, node, item_id),
  FOREIGN KEY (account_id, node) REFERENCES pep_nodes(account_id, node) ON DELETE CASCADE
) STRICT;
CREATE INDEX pep_items_by_node ON pep_items(account_id, node, seq);

CREATE TABLE account_xml (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  xml TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, key)
) STRICT, WITHOUT ROWID;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sql: V1 },
  { version: 2, sql: V2 },
  { version: 3, sql: '' }, // placeholder, replaced at merge
  { version: 4, sql: '' }, // placeholder, replaced at merge
  { version: 5, sql: V5 },
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
