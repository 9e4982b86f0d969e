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
  /** The id the message had on a gateway/3 link (ours going out, the peer's coming in). */
  readonly linkId?: string;
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
  readonly linkId?: string;
  readonly truncated: boolean;
}

interface Row {
  id: number;
  fingerprint: string;
  direction: Direction;
  text: string;
  stamp: number;
  xmpp_id: string | null;
  link_id: string | null;
  truncated: number;
}

const COLUMNS = 'id, fingerprint, direction, text, stamp, xmpp_id, link_id, truncated';

function toEntry(r: Row): ArchiveEntry {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    direction: r.direction,
    text: r.text,
    stamp: toDate(r.stamp),
    truncated: r.truncated === 1,
    ...(r.xmpp_id !== null && { xmppId: r.xmpp_id }),
    ...(r.link_id !== null && { linkId: r.link_id }),
  };
}

export class Archive {
  private readonly insert;
  private readonly latest;
  private readonly byLinkId;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.insert = db.prepare<[number, string, string, string, number, string | null, string | null, number], Row>(
      `INSERT INTO archive (account_id, fingerprint, direction, text, stamp, xmpp_id, link_id, truncated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    );
    this.byLinkId = db.prepare<[number, string, string, string], Row>(
      `SELECT ${COLUMNS} FROM archive WHERE account_id = ? AND fingerprint = ? AND direction = ? AND link_id = ? ORDER BY id DESC LIMIT 1`,
    );
    this.latest = db.prepare<[number, string, number], Row>(
      `SELECT ${COLUMNS} FROM archive WHERE account_id = ? AND fingerprint = ? ORDER BY id DESC LIMIT ?`,
    );
  }

  /** Records a message; text over the size limit is kept cut and marked truncated rather than refused. */
  append(accountId: AccountId, m: ArchiveInput): ArchiveEntry {
    checkFingerprint(m.fingerprint);
    const { text, cut } = cutText(m.text, this.ctx.limits.maxTextBytes);
    const truncated = cut || m.truncated === true ? 1 : 0;
    const stamp = toMs(m.stamp, this.ctx.now);
    return toEntry(this.insert.get(accountId, m.fingerprint, m.direction, text, stamp, m.xmppId ?? null, m.linkId ?? null, truncated)!);
  }

  /** The message with the peer that had this link id (a marker names it), however old; the latest if several. */
  findByLinkId(accountId: AccountId, fingerprint: string, direction: Direction, linkId: string): ArchiveEntry | undefined {
    const row = this.byLinkId.get(accountId, fingerprint, direction, linkId);
    return row && toEntry(row);
  }

  /** The last `limit` messages with the peer, oldest first (the order a client shows them). */
  recent(accountId: AccountId, fingerprint: string, limit = 50): ArchiveEntry[] {
    return this.latest.all(accountId, fingerprint, limit).map(toEntry).reverse();
  }
}
