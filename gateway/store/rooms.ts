// Reference chat rooms an account added (room add): a name (the room JID's localpart), the room's fingerprint and address.
import type { AccountId } from './accounts.js';
import { StoreError } from './errors.js';
import { checkFingerprint, toDate, withForeignKey, type StoreContext } from './common.js';

export interface StoredRoom {
  /** The localpart of its JID: [a-z0-9._-], 1 to 64. */
  readonly name: string;
  readonly fingerprint: string;
  /** "host:port". */
  readonly address: string;
  readonly addedAt: Date;
}

interface Row {
  name: string;
  fingerprint: string;
  address: string;
  added_at: number;
}

/**
 * What a room name may be: a JID localpart without escaping, readable in every client; never 64 hex digits, which
 * name a peer where rooms and peers share a domain (component mode, docs/rooms.md).
 */
export const ROOM_NAME = /^(?![0-9a-f]{64}$)[a-z0-9][a-z0-9._-]{0,63}$/;
export const ROOM_NAME_RULE = 'a room name is 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit, and not 64 hex digits: those name a peer)';

const toRoom = (r: Row): StoredRoom => ({ name: r.name, fingerprint: r.fingerprint, address: r.address, addedAt: toDate(r.added_at) });

export class Rooms {
  private readonly all;
  private readonly one;
  private readonly upsertStmt;
  private readonly del;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.all = db.prepare<[number], Row>('SELECT name, fingerprint, address, added_at FROM rooms WHERE account_id = ? ORDER BY name');
    this.one = db.prepare<[number, string], Row>('SELECT name, fingerprint, address, added_at FROM rooms WHERE account_id = ? AND name = ?');
    this.upsertStmt = db.prepare<[number, string, string, string, number], Row>(
      `INSERT INTO rooms (account_id, name, fingerprint, address, added_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_id, name) DO UPDATE SET fingerprint = excluded.fingerprint, address = excluded.address
       RETURNING name, fingerprint, address, added_at`,
    );
    this.del = db.prepare<[number, string]>('DELETE FROM rooms WHERE account_id = ? AND name = ?');
  }

  list(accountId: AccountId): StoredRoom[] {
    return this.all.all(accountId).map(toRoom);
  }

  get(accountId: AccountId, name: string): StoredRoom | undefined {
    const r = this.one.get(accountId, name);
    return r && toRoom(r);
  }

  /** Adds the room, or points an existing name at another room. */
  put(accountId: AccountId, name: string, fingerprint: string, address: string): StoredRoom {
    if (!ROOM_NAME.test(name)) throw new StoreError('too-large', `${ROOM_NAME_RULE}, got ${JSON.stringify(name.slice(0, 80))}`);
    checkFingerprint(fingerprint);
    return withForeignKey('no-account', `no account with id ${accountId}`, () => toRoom(this.upsertStmt.get(accountId, name, fingerprint, address, this.ctx.now())!));
  }

  remove(accountId: AccountId, name: string): boolean {
    return this.del.run(accountId, name).changes > 0;
  }
}
