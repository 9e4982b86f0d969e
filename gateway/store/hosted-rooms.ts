// Rooms this account hosts (docs/rooms.md, "Hosting a room"): name, policy, port and the room's own identity,
// and per room the members fp2alias-style (fingerprint → alias) with bans.
import type { AccountId } from './accounts.js';
import { checkFingerprint, toDate, type StoreContext } from './common.js';
import { StoreError } from './errors.js';
import { ROOM_NAME, ROOM_NAME_RULE } from './rooms.js';

export type HostedRoomPolicy = 'open' | 'members';

export interface StoredHostedRoom {
  readonly name: string;
  readonly policy: HostedRoomPolicy;
  /** 0 until the first start picked one; then kept, so the room's share string stays valid. */
  readonly port: number;
  readonly keyPem: string;
  readonly certPem: string;
  readonly createdAt: Date;
}

export interface StoredRoomMember {
  readonly fingerprint: string;
  readonly alias: string;
  readonly banned: boolean;
  readonly addedAt: Date;
}

interface RoomRow {
  name: string;
  policy: HostedRoomPolicy;
  port: number;
  key_pem: string;
  cert_pem: string;
  created_at: number;
}

interface MemberRow {
  fingerprint: string;
  alias: string;
  banned: number;
  added_at: number;
}

const ROOM_COLS = 'name, policy, port, key_pem, cert_pem, created_at';
const toRoom = (r: RoomRow): StoredHostedRoom => ({ name: r.name, policy: r.policy, port: r.port, keyPem: r.key_pem, certPem: r.cert_pem, createdAt: toDate(r.created_at) });
const toMember = (r: MemberRow): StoredRoomMember => ({ fingerprint: r.fingerprint, alias: r.alias, banned: r.banned === 1, addedAt: toDate(r.added_at) });

export class HostedRooms {
  private readonly s;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.s = {
      all: db.prepare<[number], RoomRow>(`SELECT ${ROOM_COLS} FROM hosted_rooms WHERE account_id = ? ORDER BY name`),
      one: db.prepare<[number, string], RoomRow>(`SELECT ${ROOM_COLS} FROM hosted_rooms WHERE account_id = ? AND name = ?`),
      create: db.prepare<[number, string, string, string, string, number]>(
        'INSERT INTO hosted_rooms (account_id, name, policy, port, key_pem, cert_pem, created_at) VALUES (?, ?, ?, 0, ?, ?, ?)',
      ),
      port: db.prepare<[number, number, string]>('UPDATE hosted_rooms SET port = ? WHERE account_id = ? AND name = ?'),
      policy: db.prepare<[string, number, string]>('UPDATE hosted_rooms SET policy = ? WHERE account_id = ? AND name = ?'),
      del: db.prepare<[number, string]>('DELETE FROM hosted_rooms WHERE account_id = ? AND name = ?'),
      members: db.prepare<[number, string], MemberRow>('SELECT fingerprint, alias, banned, added_at FROM hosted_room_members WHERE account_id = ? AND room = ? ORDER BY alias'),
      member: db.prepare<[number, string, string], MemberRow>('SELECT fingerprint, alias, banned, added_at FROM hosted_room_members WHERE account_id = ? AND room = ? AND fingerprint = ?'),
      byAlias: db.prepare<[number, string, string], MemberRow>('SELECT fingerprint, alias, banned, added_at FROM hosted_room_members WHERE account_id = ? AND room = ? AND alias = ?'),
      put: db.prepare<[number, string, string, string, number]>(
        `INSERT INTO hosted_room_members (account_id, room, fingerprint, alias, added_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, room, fingerprint) DO UPDATE SET alias = excluded.alias`,
      ),
      ban: db.prepare<[number, number, string, string]>('UPDATE hosted_room_members SET banned = ? WHERE account_id = ? AND room = ? AND fingerprint = ?'),
    };
  }

  list(accountId: AccountId): StoredHostedRoom[] {
    return this.s.all.all(accountId).map(toRoom);
  }

  get(accountId: AccountId, name: string): StoredHostedRoom | undefined {
    const r = this.s.one.get(accountId, name);
    return r && toRoom(r);
  }

  create(accountId: AccountId, name: string, policy: HostedRoomPolicy, keyPem: string, certPem: string): StoredHostedRoom {
    if (!ROOM_NAME.test(name)) throw new StoreError('too-large', `${ROOM_NAME_RULE}, got ${JSON.stringify(name.slice(0, 80))}`);
    this.s.create.run(accountId, name, policy, keyPem, certPem, this.ctx.now());
    return this.get(accountId, name)!;
  }

  setPort(accountId: AccountId, name: string, port: number): void {
    this.s.port.run(port, accountId, name);
  }

  setPolicy(accountId: AccountId, name: string, policy: HostedRoomPolicy): void {
    this.s.policy.run(policy, accountId, name);
  }

  remove(accountId: AccountId, name: string): boolean {
    return this.s.del.run(accountId, name).changes > 0;
  }

  members(accountId: AccountId, room: string): StoredRoomMember[] {
    return this.s.members.all(accountId, room).map(toMember);
  }

  member(accountId: AccountId, room: string, fingerprint: string): StoredRoomMember | undefined {
    const r = this.s.member.get(accountId, room, fingerprint);
    return r && toMember(r);
  }

  memberByAlias(accountId: AccountId, room: string, alias: string): StoredRoomMember | undefined {
    const r = this.s.byAlias.get(accountId, room, alias);
    return r && toMember(r);
  }

  /** Remembers (or renames) a member; an alias held by another fingerprint is refused. */
  putMember(accountId: AccountId, room: string, fingerprint: string, alias: string): void {
    checkFingerprint(fingerprint);
    const holder = this.memberByAlias(accountId, room, alias);
    if (holder && holder.fingerprint !== fingerprint) throw new StoreError('taken', `the alias ${alias} is taken in ${room}`);
    this.s.put.run(accountId, room, fingerprint, alias, this.ctx.now());
  }

  setBanned(accountId: AccountId, room: string, fingerprint: string, banned: boolean): boolean {
    return this.s.ban.run(banned ? 1 : 0, accountId, room, fingerprint).changes > 0;
  }
}
