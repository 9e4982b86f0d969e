// Receipts and chat markers our user's client sent for a peer's messages, waiting for the peer's gateway to be
// online (x-tlsim-gateway/3): kept across restarts, bounded per peer (the oldest go first: a newer marker says
// more), dropped with the contact.
import type { Marker } from '../bridge/contract.js';
import type { AccountId } from './accounts.js';
import { checkFingerprint, toDate, withForeignKey, type StoreContext } from './common.js';

export interface QueuedMarker {
  readonly seq: number;
  readonly marker: Marker;
  /** The peer's id for its message (IncomingText.id). */
  readonly msgId: string;
  readonly queuedAt: Date;
}

interface Row {
  seq: number;
  marker: Marker;
  msg_id: string;
  queued_at: number;
}

const toMarker = (r: Row): QueuedMarker => ({ seq: r.seq, marker: r.marker, msgId: r.msg_id, queuedAt: toDate(r.queued_at) });

export class Markers {
  private readonly insert;
  private readonly trim;
  private readonly head;
  private readonly del;
  private readonly pending;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.insert = db.prepare<[number, string, string, string, number]>(
      'INSERT INTO markers_out (account_id, fingerprint, marker, msg_id, queued_at) VALUES (?, ?, ?, ?, ?)',
    );
    // Everything older than the newest `max` (OFFSET max names the newest one to drop).
    this.trim = db.prepare<[number, string, number, string, number]>(
      `DELETE FROM markers_out WHERE account_id = ? AND fingerprint = ? AND seq <= (
         SELECT seq FROM markers_out WHERE account_id = ? AND fingerprint = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
    );
    this.head = db.prepare<[number, string, number], Row>(
      'SELECT seq, marker, msg_id, queued_at FROM markers_out WHERE account_id = ? AND fingerprint = ? ORDER BY seq LIMIT ?',
    );
    this.del = db.prepare<[number, number]>('DELETE FROM markers_out WHERE account_id = ? AND seq = ?');
    this.pending = db.prepare<[number], { fingerprint: string }>(
      'SELECT DISTINCT fingerprint FROM markers_out WHERE account_id = ?',
    );
  }

  /** Keeps a marker for the peer; beyond the limit the oldest ones go. */
  enqueue(accountId: AccountId, fingerprint: string, marker: Marker, msgId: string): void {
    checkFingerprint(fingerprint);
    const max = this.ctx.limits.maxMarkersPerPeer;
    withForeignKey('no-contact', `${fingerprint} is not a contact of account ${accountId}`, () =>
      this.ctx.db.transaction(() => {
        this.insert.run(accountId, fingerprint, marker, msgId, this.ctx.now());
        this.trim.run(accountId, fingerprint, accountId, fingerprint, max);
      })(),
    );
  }

  /** The oldest `limit` markers for the peer, in the order they were given; nothing is removed. */
  peek(accountId: AccountId, fingerprint: string, limit = 100): QueuedMarker[] {
    return this.head.all(accountId, fingerprint, limit).map(toMarker);
  }

  /** After it was sent (acknowledged) or dropped (the peer's link cannot carry it). */
  remove(accountId: AccountId, seq: number): boolean {
    return this.del.run(accountId, seq).changes > 0;
  }

  fingerprintsWithPending(accountId: AccountId): string[] {
    return this.pending.all(accountId).map((r) => r.fingerprint);
  }
}
