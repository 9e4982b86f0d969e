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

// History on every device (XEP-0359, XEP-0313): each archived message gets a stable id, unique per account
// and never reused, that clients page by; existing rows get theirs here. The table is rebuilt (SQLite cannot
// add a NOT NULL column without a default), keeping every row id, so the history keeps its order.
// The archive's order is (stamp, id): the indexes serve "last page", "with + time range" and id paging
// as index range scans over a year of history, without a sort.
const RANDOM_UUID = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
  substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;
const V3 = `
CREATE TABLE archive_v3 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  text TEXT NOT NULL,
  stamp INTEGER NOT NULL,
  xmpp_id TEXT,
  truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
  stanza_id TEXT NOT NULL CHECK (length(stanza_id) BETWEEN 1 AND 128),
  origin_id TEXT
) STRICT;
INSERT INTO archive_v3 (id, account_id, fingerprint, direction, text, stamp, xmpp_id, truncated, stanza_id)
  SELECT id, account_id, fingerprint, direction, text, stamp, xmpp_id, truncated, ${RANDOM_UUID} FROM archive ORDER BY id;
DROP TABLE archive;
ALTER TABLE archive_v3 RENAME TO archive;
CREATE UNIQUE INDEX archive_by_stanza_id ON archive(account_id, stanza_id);
CREATE INDEX archive_by_time ON archive(account_id, stamp);
CREATE INDEX archive_by_peer_time ON archive(account_id, fingerprint, stamp);

-- Held messages are archived when they arrive: delivered on acceptance with the same id.
ALTER TABLE held ADD COLUMN stanza_id TEXT;

-- What the user asked to archive (XEP-0441 preferences): a default and per-JID rules, each with the peer it
-- names (null for any other JID: kept and shown, never matched, as only peers' messages are archived).
CREATE TABLE archive_prefs (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  default_rule TEXT NOT NULL CHECK (default_rule IN ('always', 'never', 'roster')),
  rules TEXT NOT NULL DEFAULT '[]'
) STRICT;
`;

// Between two gateways (x-tlsim-gateway/3): the link id each message goes out with, so that a receipt or chat
// marker arriving days later finds the message it is about (and the id the user's client gave it), and the peer's
// id of each message received (archive, held); what the sender asked for (bit 1: a receipt, XEP-0184; bit 2:
// markable, XEP-0333); whether a contact is such a gateway
// (learned at its last link, kept for while it is offline); and the markers our user's client sent that wait for
// the peer's gateway to be online (bounded per peer by the store).
const V4 = `
ALTER TABLE outbox ADD COLUMN link_id TEXT;
ALTER TABLE outbox ADD COLUMN requests INTEGER NOT NULL DEFAULT 0 CHECK (requests BETWEEN 0 AND 3);
ALTER TABLE archive ADD COLUMN link_id TEXT;
CREATE INDEX archive_by_link_id ON archive(account_id, fingerprint, link_id) WHERE link_id IS NOT NULL;
ALTER TABLE held ADD COLUMN link_id TEXT;
ALTER TABLE held ADD COLUMN requests INTEGER NOT NULL DEFAULT 0 CHECK (requests BETWEEN 0 AND 3);
ALTER TABLE contacts ADD COLUMN gateway INTEGER NOT NULL DEFAULT 0 CHECK (gateway IN (0, 1));
CREATE TABLE markers_out (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  marker TEXT NOT NULL CHECK (marker IN ('receipt', 'received', 'displayed', 'acknowledged')),
  msg_id TEXT NOT NULL,
  queued_at INTEGER NOT NULL,
  FOREIGN KEY (account_id, fingerprint) REFERENCES contacts(account_id, fingerprint) ON DELETE CASCADE
) STRICT;
CREATE INDEX markers_out_by_peer ON markers_out(account_id, fingerprint, seq);
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

/** Reference chat rooms (docs/rooms.md) the user added: a MUC room each, `<name>@conference.<domain>`. */
const V6 = `
CREATE TABLE rooms (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
  address TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
`;

/**
 * The FOAF directory (issue 13): the account's own profile, which contacts it lists as foaf:knows (none by
 * default), and the profiles crawled from the network with who vouched for whom and when each was fetched.
 */
const V7 = `
CREATE TABLE foaf_profile (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  nick TEXT,
  name TEXT,
  mbox_sha1sum TEXT CHECK (mbox_sha1sum IS NULL OR (length(mbox_sha1sum) = 40 AND mbox_sha1sum NOT GLOB '*[^0-9a-f]*')),
  interests TEXT NOT NULL DEFAULT '[]',
  place TEXT,
  description TEXT,
  updated_at INTEGER NOT NULL
) STRICT;

-- A contact the user published (foaf:knows); removing the contact unpublishes it.
CREATE TABLE foaf_public (
  account_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, fingerprint),
  FOREIGN KEY (account_id, fingerprint) REFERENCES contacts(account_id, fingerprint) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- What the crawler learned of one peer. status: 'profile' (its own profile, fetched_at set), 'none' (a reference
-- peer or a gateway that publishes nothing: no profile, said so), 'refused' (its document broke a limit; reason),
-- 'listed' (never fetched: known only from the knows entries of its vouchers).
CREATE TABLE foaf_people (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
  status TEXT NOT NULL CHECK (status IN ('profile', 'none', 'refused', 'listed')),
  nick TEXT,
  name TEXT,
  mbox_sha1sum TEXT,
  interests TEXT NOT NULL DEFAULT '[]',
  place TEXT,
  description TEXT,
  share TEXT,
  profile_url TEXT,
  reason TEXT,
  fetched_at INTEGER,
  PRIMARY KEY (account_id, fingerprint)
) STRICT, WITHOUT ROWID;

-- Provenance: voucher's profile listed subject in foaf:knows (as fetched at seen_at).
CREATE TABLE foaf_vouches (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  voucher TEXT NOT NULL,
  subject TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, voucher, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX foaf_vouches_by_subject ON foaf_vouches(account_id, subject);
`;

/**
 * Files (XEP-0363 uploads, and files received from a gateway peer): metadata here, bytes in <dataDir>/uploads/.
 * state: 'slot' (handed out, not uploaded), 'stored' (complete), 'receiving' (coming from a gateway peer).
 * file_sends: a stored file on its way to a gateway peer, until the peer has it all (resumed on every link).
 * file_receives: which peer's transfer a 'receiving' file is, with the hash it must have at the end.
 */
const V8 = `
CREATE TABLE uploads (
  token TEXT PRIMARY KEY CHECK (length(token) BETWEEN 16 AND 64),
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  size INTEGER NOT NULL CHECK (size >= 0),
  content_type TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('slot', 'stored', 'receiving')),
  sha256 TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX uploads_by_account ON uploads (account_id);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

CREATE TABLE file_sends (
  account_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  transfer_id TEXT NOT NULL,
  token TEXT NOT NULL REFERENCES uploads(token) ON DELETE CASCADE,
  queued_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, fingerprint, transfer_id),
  FOREIGN KEY (account_id, fingerprint) REFERENCES contacts(account_id, fingerprint) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE file_receives (
  account_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  transfer_id TEXT NOT NULL,
  token TEXT NOT NULL REFERENCES uploads(token) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (account_id, fingerprint, transfer_id),
  FOREIGN KEY (account_id, fingerprint) REFERENCES contacts(account_id, fingerprint) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
`;

/**
 * Rooms the gateway hosts (issue 12 part 2, docs/rooms.md): each with its own TLS identity (the key is a secret:
 * the database file is 0600), its port, and its policy; members are remembered per fingerprint with their alias,
 * as fp2alias's file does, and a ban keeps a fingerprint out.
 */
const V9 = `
CREATE TABLE hosted_rooms (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  policy TEXT NOT NULL CHECK (policy IN ('open', 'members')),
  port INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
  key_pem TEXT NOT NULL,
  cert_pem TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE hosted_room_members (
  account_id INTEGER NOT NULL,
  room TEXT NOT NULL,
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
  alias TEXT NOT NULL CHECK (length(alias) BETWEEN 2 AND 32),
  banned INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
  added_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, room, fingerprint),
  UNIQUE (account_id, room, alias),
  FOREIGN KEY (account_id, room) REFERENCES hosted_rooms(account_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
`;

/**
 * How many stanzas the offline box dropped (its limit) since the user last read the count: kept with the box, so a
 * restart or a crash between the drop and the next login still tells the user (issue 16 §2).
 */
const V10 = `
CREATE TABLE undelivered_dropped (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  dropped INTEGER NOT NULL CHECK (dropped >= 0)
) STRICT;
`;

/**
 * The messages of rooms with the extension (docs/rooms.md "Between gateways"), as the member gateway received
 * them: the room's stable id (unique per room, so a resumed log is stored once), the occupant's nick, the time
 * the room gave it. XEP-0313 on the room JID reads them. Kept apart from the one-to-one archive.
 */
const V11 = `
CREATE TABLE room_archive (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  room TEXT NOT NULL CHECK (length(room) BETWEEN 1 AND 64),
  msg_id TEXT NOT NULL CHECK (length(msg_id) BETWEEN 1 AND 128),
  nick TEXT NOT NULL,
  text TEXT NOT NULL,
  stamp INTEGER NOT NULL,
  UNIQUE (account_id, room, msg_id)
) STRICT;
CREATE INDEX room_archive_by_time ON room_archive(account_id, room, stamp, id);
`;

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
