// The messages of rooms with the extension, per account and room (migration 11; docs/rooms.md "Between
// gateways"): what XEP-0313 on a room JID returns. The room's id is unique per room: a message the room sends
// again (a resumed log) is kept once. The order is (stamp, id): the room's own times.
// RoomPages is the one page query of a room's messages: over this archive (a member's copy), and over the log of a
// room the account hosts (hosted-room-log.ts), whose rows it reads through a view of the same columns.
import type { AccountId } from './accounts.js';
import type { ArchiveQuery } from './archive.js';
import { appendIdBounds, cutText, toDate, type StoreContext } from './common.js';
import { StoreError } from './errors.js';

export interface RoomArchiveRow {
  readonly id: string;
  readonly nick: string;
  readonly text: string;
  readonly stamp: Date;
}

/** The one-to-one archive's range, without a peer, an offset or a separate count. */
export type RoomArchiveRange = Pick<ArchiveQuery, 'start' | 'end' | 'afterId' | 'beforeId' | 'ids' | 'reverse' | 'limit'>;

export interface RoomPage {
  entries: RoomArchiveRow[];
  more: boolean;
  total: number;
}

interface Row {
  id: number;
  msg_id: string;
  nick: string;
  text: string;
  stamp: number;
}

const toEntry = (r: Row): RoomArchiveRow => ({ id: r.msg_id, nick: r.nick, text: r.text, stamp: toDate(r.stamp) });

/**
 * Pages of a room's messages from `source`: a table, or a subquery, with the columns account_id, room, id (the
 * row's order among equal stamps), msg_id (the room's id), nick, text and stamp (ms).
 */
export class RoomPages {
  private readonly byId;
  private readonly any;

  constructor(private readonly ctx: StoreContext, private readonly source: string) {
    this.byId = ctx.db.prepare<[number, string, string], { id: number; stamp: number }>(`SELECT id, stamp FROM ${source} WHERE account_id = ? AND room = ? AND msg_id = ?`);
    this.any = ctx.db.prepare<[number, string], { n: number }>(`SELECT 1 AS n FROM ${source} WHERE account_id = ? AND room = ? LIMIT 1`);
  }

  holds(accountId: AccountId, room: string): boolean {
    return this.any.get(accountId, room) !== undefined;
  }

  /** One page, oldest first (newest first when `reverse`), and how many the time range holds. */
  query(accountId: AccountId, room: string, q: RoomArchiveRange): RoomPage {
    const where = ['account_id = ?', 'room = ?'];
    const args: (string | number)[] = [accountId, room];
    if (q.start) (where.push('stamp >= ?'), args.push(q.start.getTime()));
    if (q.end) (where.push('stamp <= ?'), args.push(q.end.getTime()));
    if (q.ids) {
      where.push(`msg_id IN (${q.ids.map(() => '?').join(', ') || 'NULL'})`);
      args.push(...q.ids);
    }
    const total = (this.ctx.db.prepare(`SELECT count(*) AS n FROM ${this.source} WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
    appendIdBounds(q, where, args, (msgId) => this.byId.get(accountId, room, msgId),
      (msgId) => new StoreError('unknown-id', `no message ${msgId.slice(0, 130)} in room ${room}`));
    const order = q.reverse ? 'DESC' : 'ASC';
    const rows = this.ctx.db
      .prepare(`SELECT id, msg_id, nick, text, stamp FROM ${this.source} WHERE ${where.join(' AND ')} ORDER BY stamp ${order}, id ${order} LIMIT ?`)
      .all(...args, q.limit + 1) as Row[];
    return { entries: rows.slice(0, q.limit).map(toEntry), more: rows.length > q.limit, total };
  }
}

export class RoomArchive {
  private readonly insert;
  private readonly pages;

  constructor(private readonly ctx: StoreContext) {
    this.insert = ctx.db.prepare<[number, string, string, string, string, number]>(
      'INSERT OR IGNORE INTO room_archive (account_id, room, msg_id, nick, text, stamp) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.pages = new RoomPages(ctx, 'room_archive');
  }

  /** Keeps a message; false when the room's id is already there. */
  add(accountId: AccountId, room: string, m: RoomArchiveRow): boolean {
    const { text } = cutText(m.text, this.ctx.limits.maxTextBytes);
    return this.insert.run(accountId, room, m.id, m.nick.slice(0, 80), text, m.stamp.getTime()).changes > 0;
  }

  holds(accountId: AccountId, room: string): boolean {
    return this.pages.holds(accountId, room);
  }

  query(accountId: AccountId, room: string, q: RoomArchiveRange): RoomPage {
    return this.pages.query(accountId, room, q);
  }
}
