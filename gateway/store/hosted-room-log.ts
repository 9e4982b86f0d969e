// The log of each room this account hosts (migration 12; docs/rooms.md "Hosting a room"): the messages said, with
// the room's own ids and times, so a restart of the gateway keeps the room's history and member gateways resume by
// id. Bounded per room: appending drops what is older than the room's last `keep` messages, in the same
// transaction (the caller's group commit, or a transaction of its own). XEP-0313 on a hosted room's JID pages it
// as a member's copy is paged (RoomPages), the alias as the nick, in the room's time order.
import type { AccountId } from './accounts.js';
import { checkFingerprint, cutText, type StoreContext } from './common.js';
import { RoomPages, type RoomArchiveRange, type RoomPage } from './room-archive.js';

export interface HostedRoomLogEntry {
  /** The room's id of the message (unique per room). */
  readonly id: string;
  /** Milliseconds since the epoch, when the room heard it. */
  readonly at: number;
  /** The member's name in the room then (`alias[n]`), and its alias. */
  readonly name: string;
  readonly alias: string;
  readonly fingerprint: string;
  /** As members read it (control characters deleted), LF between lines. */
  readonly text: string;
  /** The id a member gateway gave it (its echo). */
  readonly echo?: string;
}

interface Row {
  msg_id: string;
  at: number;
  name: string;
  alias: string;
  fingerprint: string;
  text: string;
  echo: string | null;
}

const toEntry = (r: Row): HostedRoomLogEntry => ({
  id: r.msg_id, at: r.at, name: r.name, alias: r.alias, fingerprint: r.fingerprint, text: r.text, ...(r.echo !== null && { echo: r.echo }),
});

/** The log as RoomPages reads a room's messages: seq orders messages of the same millisecond. */
const AS_ROOM_MESSAGES = '(SELECT account_id, room, seq AS id, msg_id, alias AS nick, text, at AS stamp FROM hosted_room_log)';

export class HostedRoomLog {
  private readonly s;
  private readonly pages;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.s = {
      // The newest `limit`, read oldest first.
      last: db.prepare<[number, string, number], Row>(
        `SELECT msg_id, at, name, alias, fingerprint, text, echo FROM (
           SELECT seq, msg_id, at, name, alias, fingerprint, text, echo FROM hosted_room_log
           WHERE account_id = ? AND room = ? ORDER BY seq DESC LIMIT ?
         ) ORDER BY seq ASC`,
      ),
      insert: db.prepare<[number, string, string, number, string, string, string, string, string | null]>(
        'INSERT OR IGNORE INTO hosted_room_log (account_id, room, msg_id, at, name, alias, fingerprint, text, echo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // Everything before the `keep`-th newest (nothing when the room holds fewer).
      trim: db.prepare<[number, string, number, string, number]>(
        `DELETE FROM hosted_room_log WHERE account_id = ? AND room = ? AND seq < (
           SELECT seq FROM hosted_room_log WHERE account_id = ? AND room = ? ORDER BY seq DESC LIMIT 1 OFFSET ?
         )`,
      ),
    };
    this.pages = new RoomPages(ctx, AS_ROOM_MESSAGES);
  }

  /** The log holds a message (MAM on the room is in its disco). */
  holds(accountId: AccountId, room: string): boolean {
    return this.pages.holds(accountId, room);
  }

  /** One page of the log, as RoomArchive.query pages a member's copy. */
  query(accountId: AccountId, room: string, q: RoomArchiveRange): RoomPage {
    return this.pages.query(accountId, room, q);
  }

  /** The room's last `limit` messages, oldest first. */
  load(accountId: AccountId, room: string, limit: number): HostedRoomLogEntry[] {
    return this.s.last.all(accountId, room, Math.max(0, Math.floor(limit))).map(toEntry);
  }

  /** Keeps one more message (once per id) and drops the room's oldest beyond `keep`, in one transaction. */
  append(accountId: AccountId, room: string, e: HostedRoomLogEntry, keep: number): void {
    checkFingerprint(e.fingerprint);
    const { text } = cutText(e.text, this.ctx.limits.maxTextBytes);
    this.ctx.db.transaction(() => {
      this.s.insert.run(accountId, room, e.id, e.at, e.name.slice(0, 80), e.alias.slice(0, 80), e.fingerprint, text, e.echo ?? null);
      this.s.trim.run(accountId, room, accountId, room, Math.max(1, Math.floor(keep)) - 1);
    })();
  }
}
