// Contacts of an account: peers in the roster, pending requests and blocked peers.
import type { ContactState } from '../bridge/contract.js';
import type { AccountId } from './accounts.js';
import { StoreError } from './errors.js';
import { checkFingerprint, toDate, toMs, withForeignKey, type StoreContext } from './common.js';

export interface StoredContact {
  readonly fingerprint: string;
  /** The name the user chose; undefined when none (the bridge shows a short fingerprint). */
  readonly name?: string;
  readonly state: ContactState;
  /** Where we dial the peer ("host:port"), if known. */
  readonly address?: string;
  readonly addedAt: Date;
  /** The last time a link with the peer was up. */
  readonly lastSeenAt?: Date;
  /** Its last link spoke x-tlsim-gateway/3 (message ids, markers, chat states). */
  readonly gateway: boolean;
}

export interface ContactFields {
  /** null clears it. */
  name?: string | null;
  state?: ContactState;
  /** null clears it. */
  address?: string | null;
}

interface Row {
  fingerprint: string;
  name: string | null;
  state: ContactState;
  address: string | null;
  added_at: number;
  last_seen_at: number | null;
  gateway: number;
}

const COLUMNS = 'fingerprint, name, state, address, added_at, last_seen_at, gateway';

function toContact(r: Row): StoredContact {
  return {
    fingerprint: r.fingerprint,
    state: r.state,
    addedAt: toDate(r.added_at),
    gateway: r.gateway === 1,
    ...(r.name !== null && { name: r.name }),
    ...(r.address !== null && { address: r.address }),
    ...(r.last_seen_at !== null && { lastSeenAt: toDate(r.last_seen_at) }),
  };
}

/** Contacts kept in the look-up cache (all of them on a normal roster; a bigger book is re-read as it goes). */
const CACHE_MAX = 10_000;

export class Contacts {
  /**
   * get() is asked several times per relayed message (routing, sending, receiving): the answers are cached per
   * (account, fingerprint), a missing contact too. Every write here empties the cache; a write made inside a
   * transaction may still be rolled back (a savepoint of the group commit, a failed commit), so until a get()
   * finds no transaction open, get() reads the table and caches nothing. The rows change only through this
   * class (on this connection; the CLI writes only while no gateway runs) or by an account's removal
   * (forget()).
   */
  private readonly cache = new Map<string, StoredContact | null>();
  private unsettled = false;
  private readonly all;
  private readonly byState;
  private readonly one;
  private readonly upsertStmt;
  private readonly setStateStmt;
  private readonly renameStmt;
  private readonly setAddressStmt;
  private readonly touchStmt;
  private readonly gatewayStmt;
  private readonly del;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.all = db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM contacts WHERE account_id = ? ORDER BY added_at, fingerprint`);
    this.byState = db.prepare<[number, string], Row>(
      `SELECT ${COLUMNS} FROM contacts WHERE account_id = ? AND state = ? ORDER BY added_at, fingerprint`,
    );
    this.one = db.prepare<[number, string], Row>(`SELECT ${COLUMNS} FROM contacts WHERE account_id = ? AND fingerprint = ?`);
    // ON CONFLICT ... DO UPDATE, never INSERT OR REPLACE: a replace deletes the row first, and the
    // cascade would silently drop the contact's queued messages.
    this.upsertStmt = db.prepare<[number, string, string | null, string, string | null, number], Row>(
      `INSERT INTO contacts (account_id, fingerprint, name, state, address, added_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id, fingerprint) DO UPDATE SET name = excluded.name, state = excluded.state, address = excluded.address
       RETURNING ${COLUMNS}`,
    );
    const update = (set: string) =>
      db.prepare<[unknown, number, string], Row>(
        `UPDATE contacts SET ${set} WHERE account_id = ? AND fingerprint = ? RETURNING ${COLUMNS}`,
      );
    this.setStateStmt = update('state = ?');
    this.renameStmt = update('name = ?');
    this.setAddressStmt = update('address = ?');
    this.touchStmt = update('last_seen_at = ?');
    this.gatewayStmt = update('gateway = ?');
    this.del = db.prepare<[number, string]>('DELETE FROM contacts WHERE account_id = ? AND fingerprint = ?');
  }

  list(accountId: AccountId, state?: ContactState): StoredContact[] {
    const rows = state ? this.byState.all(accountId, state) : this.all.all(accountId);
    return rows.map(toContact);
  }

  get(accountId: AccountId, fingerprint: string): StoredContact | undefined {
    if (this.unsettled) {
      if (this.ctx.db.inTransaction) return this.read(accountId, fingerprint);
      this.unsettled = false;
    }
    const key = `${accountId}:${fingerprint}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const c = this.read(accountId, fingerprint);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, c ?? null);
    return c;
  }

  /** The account's rows are gone (removed with it): nothing cached about them may be answered. */
  forget(): void {
    this.wrote();
  }

  private read(accountId: AccountId, fingerprint: string): StoredContact | undefined {
    const row = this.one.get(accountId, fingerprint);
    return row && toContact(row);
  }

  /** After (or around) any write: the cache is dropped, and not refilled while a transaction could undo the write. */
  private wrote(): void {
    this.cache.clear();
    if (this.ctx.db.inTransaction) this.unsettled = true;
  }

  /** Creates the contact (state "contact" unless given) or changes the given fields of an existing one. */
  upsert(accountId: AccountId, fingerprint: string, fields: ContactFields = {}): StoredContact {
    checkFingerprint(fingerprint);
    const old = this.get(accountId, fingerprint);
    const name = fields.name === undefined ? (old?.name ?? null) : this.checkName(fields.name);
    const address = fields.address === undefined ? (old?.address ?? null) : fields.address;
    const state = fields.state ?? old?.state ?? 'contact';
    try {
      return withForeignKey('no-account', `no account with id ${accountId}`, () =>
        toContact(this.upsertStmt.get(accountId, fingerprint, name, state, address, this.ctx.now())!),
      );
    } finally {
      this.wrote();
    }
  }

  /** The changed contact, or undefined when there is no such contact. */
  setState(accountId: AccountId, fingerprint: string, state: ContactState): StoredContact | undefined {
    return this.change(this.setStateStmt, state, accountId, fingerprint);
  }

  rename(accountId: AccountId, fingerprint: string, name: string | null): StoredContact | undefined {
    return this.change(this.renameStmt, this.checkName(name), accountId, fingerprint);
  }

  setAddress(accountId: AccountId, fingerprint: string, address: string | null): StoredContact | undefined {
    return this.change(this.setAddressStmt, address, accountId, fingerprint);
  }

  /** Records that a link with the peer is up now (or was at `at`). */
  touch(accountId: AccountId, fingerprint: string, at?: Date | number): StoredContact | undefined {
    return this.change(this.touchStmt, toMs(at, this.ctx.now), accountId, fingerprint);
  }

  /** Records what the peer's last link spoke: a gateway with frames (x-tlsim-gateway/3) or not. */
  setGateway(accountId: AccountId, fingerprint: string, gateway: boolean): StoredContact | undefined {
    return this.change(this.gatewayStmt, gateway ? 1 : 0, accountId, fingerprint);
  }

  /** Removes the contact with its queued and held messages; its archived history stays. */
  remove(accountId: AccountId, fingerprint: string): boolean {
    try {
      return this.del.run(accountId, fingerprint).changes > 0;
    } finally {
      this.wrote();
    }
  }

  private change(
    stmt: { get(v: unknown, a: number, f: string): Row | undefined },
    value: unknown,
    accountId: AccountId,
    fingerprint: string,
  ): StoredContact | undefined {
    try {
      const row = stmt.get(value, accountId, fingerprint);
      return row && toContact(row);
    } finally {
      this.wrote();
    }
  }

  private checkName(name: string | null): string | null {
    if (name === null) return null;
    const n = name.trim();
    if (n.length > this.ctx.limits.maxNameLength) {
      throw new StoreError('too-large', `a contact name is at most ${this.ctx.limits.maxNameLength} characters`);
    }
    return n === '' ? null : n;
  }
}
