// The message history of an account: every message in and out, per peer.
import type { AccountId } from './accounts.js';
import { checkFingerprint, cutText, toDate, toMs, type StoreContext } from './common.js';

export type Direction = 'in' | 'out';

export interface ArchiveInput {
  readonly fingerprint: string;
  readonly direction: Direction;
  readonly text: string;
  /** When it was sent or received; default now. */
  readonly stamp?: Date | number;
  readonly xmppId?: string;
  /** The text was already cut (e.g. by the link's size limit). */
  readonly truncated?: boolean;
}

export interface ArchiveEntry {
  readonly id: number;
  readonly fingerprint: string;
  readonly direction: Direction;
  readonly text: string;
  readonly stamp: Date;
  readonly xmppId?: string;
  readonly truncated: boolean;
}

interface Row {
  id: number;
  fingerprint: string;
  direction: Direction;
  text: string;
  stamp: number;
  xmpp_id: string | null;
  truncated: number;
}

const COLUMNS = 'id, fingerprint, direction, text, stamp, xmpp_id, truncated';

function toEntry(r: Row): ArchiveEntry {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    direction: r.direction,
    text: r.text,
    stamp: toDate(r.stamp),
    truncated: r.truncated === 1,
    ...(r.xmpp_id !== null && { xmppId: r.xmpp_id }),
  };
}

export class Archive {
  private readonly insert;
  private readonly latest;
  private readonly countAfterId;
  private readonly maxId;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.insert = db.prepare<[number, string, string, string, number, string | null, number], Row>(
      `INSERT INTO archive (account_id, fingerprint, direction, text, stamp, xmpp_id, truncated)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    );
    this.latest = db.prepare<[number, string, number], Row>(
      `SELECT ${COLUMNS} FROM archive WHERE account_id = ? AND fingerprint = ? ORDER BY id DESC LIMIT ?`,
    );
    this.countAfterId = db.prepare<[number, number], { direction: Direction; n: number; last: number }>(
      `SELECT direction, COUNT(*) AS n, MAX(id) AS last FROM archive WHERE id > ? AND account_id = ? GROUP BY direction`,
    );
    this.maxId = db.prepare<[], { id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM archive');
  }

  /**
   * Messages in and out recorded after message `afterId` (start from lastId()), and the newest id seen: the status
   * page samples this for its message-rate sparkline. A range on the primary key, so a sample costs
   * the rows since the last one, not the whole history.
   */
  countAfter(accountId: AccountId, afterId: number): { in: number; out: number; lastId: number } {
    const out = { in: 0, out: 0, lastId: afterId };
    for (const r of this.countAfterId.all(afterId, accountId)) {
      out[r.direction] = r.n;
      out.lastId = Math.max(out.lastId, r.last);
    }
    return out;
  }

  /** The newest message id of any account (0 when empty); cheap: the end of the primary key. */
  lastId(): number {
    return this.maxId.get()!.id;
  }

  /** Records a message; text over the size limit is kept cut and marked truncated rather than refused. */
  append(accountId: AccountId, m: ArchiveInput): ArchiveEntry {
    checkFingerprint(m.fingerprint);
    const { text, cut } = cutText(m.text, this.ctx.limits.maxTextBytes);
    const truncated = cut || m.truncated === true ? 1 : 0;
    const stamp = toMs(m.stamp, this.ctx.now);
    return toEntry(this.insert.get(accountId, m.fingerprint, m.direction, text, stamp, m.xmppId ?? null, truncated)!);
  }

  /** The last `limit` messages with the peer, oldest first (the order a client shows them). */
  recent(accountId: AccountId, fingerprint: string, limit = 50): ArchiveEntry[] {
    return this.latest.all(accountId, fingerprint, limit).map(toEntry).reverse();
  }
}
