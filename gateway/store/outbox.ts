// The persistent outgoing queue: what the user sent to a peer that has not been written to its link yet.
//
// Delivery is at-least-once. The bridge enqueues first (in the loop turn's group commit, group-commit.ts: the row
// is committed to the WAL, which survives a process crash or kill -9, before the client's <a/> counts it and before
// the text goes onto a link), writes the text to the peer's TLS
// socket, and removes the row only after the send completed (a batch at a time): a gateway peer
// acknowledged it, or the write to a reference peer's socket completed. A crash between the
// write and the removal sends those messages again after restart; losing one is worse than a duplicate.
// Plain tlsim peers have no message ids, so they may see such duplicates (at most one batch). Between two
// gateways, `seq` (stable across restarts) or `xmppId` is the message id that lets the receiver drop it.
import type { AccountId } from './accounts.js';
import { StoreError } from './errors.js';
import { checkFingerprint, checkText, toDate, withForeignKey, type StoreContext } from './common.js';

export interface OutboxItem {
  /** Unique in the database and increasing: the order of sending, per peer and overall. */
  readonly seq: number;
  readonly fingerprint: string;
  readonly text: string;
  /** The XMPP message id, for receipts and errors once it goes out. */
  readonly xmppId?: string;
  /** The id it goes out with on a gateway/3 link (markers about it name it); absent for rows from before. */
  readonly linkId?: string;
  /** The sender asked for a receipt (XEP-0184) / the message is markable (XEP-0333). */
  readonly receipt?: boolean;
  readonly markable?: boolean;
  readonly queuedAt: Date;
}

export interface EnqueueOptions {
  xmppId?: string;
  linkId?: string;
  receipt?: boolean;
  markable?: boolean;
}

const RECEIPT = 1;
const MARKABLE = 2;

interface Row {
  seq: number;
  fingerprint: string;
  text: string;
  xmpp_id: string | null;
  link_id: string | null;
  requests: number;
  queued_at: number;
}

const COLUMNS = 'seq, fingerprint, text, xmpp_id, link_id, requests, queued_at';

function toItem(r: Row): OutboxItem {
  return {
    seq: r.seq,
    fingerprint: r.fingerprint,
    text: r.text,
    queuedAt: toDate(r.queued_at),
    ...(r.xmpp_id !== null && { xmppId: r.xmpp_id }),
    ...(r.link_id !== null && { linkId: r.link_id }),
    ...((r.requests & RECEIPT) !== 0 && { receipt: true }),
    ...((r.requests & MARKABLE) !== 0 && { markable: true }),
  };
}

export class Outbox {
  private readonly insert;
  private readonly head;
  private readonly del;
  private readonly delRange;
  private readonly count;
  private readonly pending;
  private readonly oldest;
  private readonly newest;
  /**
   * Per account and peer, a number the peer's queue cannot exceed: an exact count when it was last checked, plus one
   * per enqueue since (a rolled-back or removed row only makes it larger than the truth, never smaller). While it is
   * below the limit, enqueue needs no look at the queue. Every insert into the outbox is enqueue()'s, in this process
   * (one daemon holds the data directory).
   */
  private readonly atMost = new Map<AccountId, Map<string, number>>();

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    // No RETURNING: the item is what was written, plus its seq (the row id).
    this.insert = db.prepare<[number, string, string, string | null, string | null, number, number]>(
      `INSERT INTO outbox (account_id, fingerprint, text, xmpp_id, link_id, requests, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.oldest = db.prepare<[number, string], { seq: number }>(
      'SELECT seq FROM outbox WHERE account_id = ? AND fingerprint = ? ORDER BY seq LIMIT 1',
    );
    this.newest = db.prepare<[number, string], { seq: number }>(
      'SELECT seq FROM outbox WHERE account_id = ? AND fingerprint = ? ORDER BY seq DESC LIMIT 1',
    );
    this.head = db.prepare<[number, string, number, number], Row>(
      `SELECT ${COLUMNS} FROM outbox WHERE account_id = ? AND fingerprint = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.del = db.prepare<[number, number]>('DELETE FROM outbox WHERE account_id = ? AND seq = ?');
    this.delRange = db.prepare<[number, string, number, number]>(
      'DELETE FROM outbox WHERE account_id = ? AND fingerprint = ? AND seq >= ? AND seq <= ?',
    );
    this.count = db.prepare<[number, string], { n: number }>(
      'SELECT count(*) AS n FROM outbox WHERE account_id = ? AND fingerprint = ?',
    );
    // The peer whose oldest message waits longest comes first.
    this.pending = db.prepare<[number], { fingerprint: string }>(
      'SELECT fingerprint FROM outbox WHERE account_id = ? GROUP BY fingerprint ORDER BY min(seq)',
    );
  }

  /** Queues a message for a contact; durable when it returns. */
  enqueue(accountId: AccountId, fingerprint: string, text: string, opts: EnqueueOptions = {}): OutboxItem {
    checkFingerprint(fingerprint);
    checkText(this.ctx, text);
    const max = this.ctx.limits.maxQueuedPerPeer;
    let bounds = this.atMost.get(accountId);
    if (!bounds) this.atMost.set(accountId, (bounds = new Map()));
    let bound = bounds.get(fingerprint);
    if (bound === undefined || bound >= max) {
      // Looked at only when the bound reaches the limit: once per up to `max` messages instead of for each.
      bound = this.spanOf(accountId, fingerprint);
      if (bound >= max) bound = this.countFor(accountId, fingerprint);
      if (bound >= max) {
        bounds.set(fingerprint, bound);
        throw new StoreError('queue-full', `${max} messages already wait for this peer`);
      }
    }
    const queuedAt = this.ctx.now();
    const requests = requestBits(opts);
    const { lastInsertRowid } = withForeignKey('no-contact', `${fingerprint} is not a contact of account ${accountId}`, () =>
      this.insert.run(accountId, fingerprint, text, opts.xmppId ?? null, opts.linkId ?? null, requests, queuedAt),
    );
    // Should the row be rolled back later (its savepoint or group), the bound is one too many, which is safe.
    bounds.set(fingerprint, bound + 1);
    return toItem({ seq: Number(lastInsertRowid), fingerprint, text, xmpp_id: opts.xmppId ?? null, link_id: opts.linkId ?? null, requests, queued_at: queuedAt });
  }

  /**
   * How many messages the peer's queue could hold at most: seqs are unique integers, so newest − oldest + 1 (0 when
   * none wait). Two steps down the index instead of counting every queued row (the exact count follows only when
   * this span reaches the limit, e.g. when other peers' messages interleave).
   */
  private spanOf(accountId: AccountId, fingerprint: string): number {
    const first = this.oldest.get(accountId, fingerprint);
    if (!first) return 0;
    return this.newest.get(accountId, fingerprint)!.seq - first.seq + 1;
  }

  /**
   * The oldest `limit` messages for the peer (after `afterSeq`: those not handed to a link yet),
   * in the order they must be sent; nothing is removed.
   */
  peek(accountId: AccountId, fingerprint: string, limit = 1, afterSeq = 0): OutboxItem[] {
    return this.head.all(accountId, fingerprint, afterSeq, limit).map(toItem);
  }

  /** Call only after the text was sent (acknowledged, or written to a reference peer); false if it was already gone. */
  remove(accountId: AccountId, seq: number): boolean {
    return this.del.run(accountId, seq).changes > 0;
  }

  /**
   * Removes the peer's messages from `fromSeq` to `toSeq` (both included) in one statement: a run that peek() handed
   * out in order and that was sent. Call only after every one of them was sent; returns how many left the queue.
   */
  removeRange(accountId: AccountId, fingerprint: string, fromSeq: number, toSeq: number): number {
    return this.delRange.run(accountId, fingerprint, fromSeq, toSeq).changes;
  }

  countFor(accountId: AccountId, fingerprint: string): number {
    return this.count.get(accountId, fingerprint)!.n;
  }

  /** Peers with something waiting: whom to dial after a restart or when the network comes back. */
  fingerprintsWithPending(accountId: AccountId): string[] {
    return this.pending.all(accountId).map((r) => r.fingerprint);
  }
}

function requestBits(o: EnqueueOptions): number {
  return (o.receipt ? RECEIPT : 0) | (o.markable ? MARKABLE : 0);
}
