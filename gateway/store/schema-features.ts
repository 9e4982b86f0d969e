// Schema versions 7 onwards: the FOAF directory, uploads and files, hosted rooms, the offline box's drop count,
// the room archive. Released versions are never edited; a new one is appended here and listed in migrations.ts.
/**
 * The FOAF directory (issue 13): the account's own profile, which contacts it lists as foaf:knows (none by
 * default), and the profiles crawled from the network with who vouched for whom and when each was fetched.
 */
export const V7 = `
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
export const V8 = `
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
export const V9 = `
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
export const V10 = `
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
export const V11 = `
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

/**
 * The log of a room the gateway hosts (docs/rooms.md "Hosting a room"): what was said, kept across a restart so
 * newcomers read history and member gateways resume by id. The room's id of a message (`msg_id`) is stored as
 * given, so ids stay the same after a restart; `seq` orders the log. Bounded per room by the room's log size (the
 * oldest go in the same transaction as the newest comes); `echo` and `fingerprint` let a member gateway's resent
 * message be said once, also across a restart. Goes with the room.
 */
export const V12 = `
CREATE TABLE hosted_room_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL,
  room TEXT NOT NULL,
  msg_id TEXT NOT NULL CHECK (length(msg_id) BETWEEN 1 AND 128),
  at INTEGER NOT NULL,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
  alias TEXT NOT NULL CHECK (length(alias) BETWEEN 1 AND 80),
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
  text TEXT NOT NULL,
  echo TEXT CHECK (echo IS NULL OR length(echo) BETWEEN 1 AND 128),
  UNIQUE (account_id, room, msg_id),
  FOREIGN KEY (account_id, room) REFERENCES hosted_rooms(account_id, name) ON DELETE CASCADE
) STRICT;
CREATE INDEX hosted_room_log_by_room ON hosted_room_log(account_id, room, seq);
`;
