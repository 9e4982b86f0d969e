// The gateway's database: one SQLite file, <dataDir>/gateway.db (0600), holding accounts, contacts, the
// outgoing queue, the history and held requests. Synchronous by design: every call is one short statement
// or a small transaction on an indexed range, so it never holds the event loop for long.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { databasePath } from '../paths.js';
import { Accounts } from './accounts.js';
import { Archive } from './archive.js';
import { DEFAULT_LIMITS, type StoreContext, type StoreLimits } from './common.js';
import { Contacts } from './contacts.js';
import { Foaf } from './foaf.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { Held } from './held.js';
import { Markers } from './markers.js';
import { migrate, type MigrationResult } from './migrations.js';
import { Outbox } from './outbox.js';
import { Pep, type PepLimits } from './pep.js';
import { HostedRoomLog } from './hosted-room-log.js';
import { HostedRooms } from './hosted-rooms.js';
import { Rooms } from './rooms.js';
import { RoomArchive } from './room-archive.js';
import { Undelivered } from './undelivered.js';
import { Uploads } from './uploads.js';

export type { Account, AccountId } from './accounts.js';
export type { ArchiveDefault, ArchiveEntry, ArchiveInput, ArchivePage, ArchivePrefs, ArchiveQuery, ArchiveRule, Direction } from './archive.js';
export { DEFAULT_PREFS, MAX_ARCHIVE_RULES, newArchiveId } from './archive.js';
export { DEFAULT_LIMITS, type StoreLimits } from './common.js';
export { GroupCommit, type CommitCallback, type GroupCommitOptions } from './group-commit.js';
export type { ContactFields, StoredContact } from './contacts.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export type { HeldMessage } from './held.js';
export type { QueuedMarker } from './markers.js';
export { MIGRATIONS, type Migration, type MigrationResult } from './migrations.js';
export type { EnqueueOptions, OutboxItem } from './outbox.js';
export { PEP_LIMITS, type PepAccessModel, type PepItem, type PepLimits, type PepNodeConfig } from './pep.js';
export { ROOM_NAME, ROOM_NAME_RULE, type StoredRoom } from './rooms.js';
export type { HostedRoomPolicy, StoredHostedRoom, StoredRoomMember } from './hosted-rooms.js';
export type { HostedRoomLogEntry } from './hosted-room-log.js';
export type { RoomArchiveRange, RoomArchiveRow } from './room-archive.js';
export { MAX_FIELD_LENGTH, MAX_INTERESTS, type PersonStatus, type ProfileFields, type StoredPerson, type Vouch } from './foaf.js';
export type { FileReceive, FileSend, StoredUpload, UploadInput, UploadState } from './uploads.js';
export { Accounts, Archive, Contacts, Foaf, HostedRoomLog, HostedRooms, Held, Markers, Outbox, Pep, RoomArchive, Rooms, Undelivered, Uploads };

export interface OpenStoreOptions {
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
  readonly limits?: Partial<StoreLimits>;
  /** (Additive) PEP and private XML limits. */
  readonly pepLimits?: Partial<PepLimits>;
  /** (Additive) Bounds of one group commit (tests set small ones). */
  readonly group?: GroupCommitOptions;
}

export interface Store {
  readonly path: string;
  /** The schema version found at open and the one now in place. */
  readonly schema: MigrationResult;
  readonly accounts: Accounts;
  readonly contacts: Contacts;
  readonly outbox: Outbox;
  readonly archive: Archive;
  readonly held: Held;
  readonly undelivered: Undelivered;
  /** Receipts and chat markers waiting for a gateway peer to be online. */
  readonly markers: Markers;
  /** (Additive) PEP nodes and items, private XML, the user's vCard. */
  readonly pep: Pep;
  /** (Additive) Reference chat rooms the account added (docs/rooms.md). */
  readonly rooms: Rooms;
  /** (Additive) Rooms the account hosts, with their members (docs/rooms.md). */
  readonly hostedRooms: HostedRooms;
  /** (Additive) What was said in the rooms the account hosts, bounded per room (migration 12). */
  readonly hostedRoomLog: HostedRoomLog;
  /** (Additive) Messages of rooms with the extension, for XEP-0313 on the room JID (docs/rooms.md). */
  readonly roomArchive: RoomArchive;
  /** (Additive) The FOAF directory: own profile, published contacts, crawled people and vouches (issue 13). */
  readonly foaf: Foaf;
  /** (Additive) Uploaded and received files, and files on their way to gateway peers. */
  readonly uploads: Uploads;
  /** Runs `fn` in one transaction (e.g. accept a request: set the state and take the held messages). Keep it short. */
  transaction<T>(fn: () => T): T;
  /**
   * Messages written per stanza or per link message: one commit per loop turn for all of them (group-commit.ts).
   * What tells anyone outside that a write is stored (an XEP-0198 <a/>, a link ACK) waits for group.whenCommitted.
   */
  readonly group: GroupCommit;
  close(): void;
}

/**
 * How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. Only
 * one gateway should use a data directory; this covers a short overlap (e.g. `sqlite3` reading it) while
 * keeping the worst-case stall of the event loop small.
 */
const BUSY_TIMEOUT_MS = 2000;

export function openStore(dataDir: string, opts: OpenStoreOptions = {}): Store {
  // Owner-only: the directory also holds the identity key.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = databasePath(dataDir);
  createPrivate(path);
  const db = new Database(path);
  try {
    configure(db);
    const ctx: StoreContext = { db, now: opts.now ?? Date.now, limits: { ...DEFAULT_LIMITS, ...opts.limits } };
    const schema = migrate(db, ctx.now);
    const archive = new Archive(ctx);
    const group = new GroupCommit(db, opts.group);
    const contacts = new Contacts(ctx);
    return {
      path,
      schema,
      accounts: new Accounts(ctx, (id) => {
        archive.forget(id);
        contacts.forget();
      }),
      contacts,
      outbox: new Outbox(ctx),
      archive,
      held: new Held(ctx),
      undelivered: new Undelivered(ctx),
      markers: new Markers(ctx),
      pep: new Pep(ctx, opts.pepLimits),
      rooms: new Rooms(ctx),
      hostedRooms: new HostedRooms(ctx),
      hostedRoomLog: new HostedRoomLog(ctx),
      roomArchive: new RoomArchive(ctx),
      foaf: new Foaf(ctx),
      uploads: new Uploads(ctx),
      transaction: <T>(fn: () => T): T => db.transaction(fn)(),
      group,
      close: () => {
        if (!db.open) return;
        try {
          // What the turn wrote is kept; should that fail, its waiters are told (no ack goes out for it).
          group.commitNow();
        } catch {
          // Told; closing goes on.
        }
        db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Creates the file 0600 before SQLite does (SQLite would apply the umask, often leaving it world-readable),
 * and tightens an existing one. SQLite gives the -wal and -shm files the database file's permissions.
 */
function createPrivate(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  for (const extra of [`${path}-wal`, `${path}-shm`]) {
    if (existsSync(extra)) chmodSync(extra, 0o600);
  }
}

function configure(db: Database.Database): void {
  // WAL: readers never block the writer and a commit is one append to the log.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new Error(`cannot use WAL journal mode for ${db.name} (got ${String(mode)})`);
  // NORMAL in WAL mode: a commit is written to the log (the OS page cache) and fsynced at checkpoints
  // only. That survives any crash of this process, `kill -9` included (the queue is there after a
  // restart), and never corrupts the database; only an OS crash or a power cut may roll back the last
  // commits. FULL would fsync at every commit: 4 360 commits/s on the bench disk against 57 800 with
  // NORMAL (bench/README.md), the ceiling of the whole relay at one commit per queued message.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (db.pragma('foreign_keys', { simple: true }) !== 1) throw new Error('SQLite foreign keys are unavailable');
}
