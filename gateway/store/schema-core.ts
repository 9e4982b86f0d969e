// The first schema versions (1-6): accounts and identities, the offline queue, the archive, the outbox,
// PEP and private storage, reference rooms. Released: never edit, append new versions in schema-features.ts.
// Everything is keyed by account from day one: the transport mode (component) serves many XMPP users,
// each with an identity of their own. Times are milliseconds since the epoch.
export const V1 = `
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
export const V2 = `
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
export const V3 = `
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
export const V4 = `
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
export const V5 = `
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
export const V6 = `
CREATE TABLE rooms (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
  address TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
`;
