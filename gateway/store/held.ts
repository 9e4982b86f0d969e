// Messages from a peer whose contact request is not answered yet, kept so that accepting shows them.
// The peer is a contact row (usually state "requested"); removing that row drops what was held.
// Capped per peer: a stranger must not be able to fill the disk.
import type { MessageRequests } from '../bridge/contract.js';
import type { AccountId } from './accounts.js';
import { checkFingerprint, cutText, toDate, toMs, withForeignKey, type StoreContext } from './common.js';

export interface HeldMessage {
  readonly text: string;
  /** When it arrived: delivered later with this stamp (XEP-0203 delay). */
  readonly stamp: Date;
  readonly truncated: boolean;
  /** A gateway peer's id for it (what a marker names) and what it asked for. */
  readonly id?: string;
  readonly requests?: MessageRequests;
}

interface Row {
  text: string;
  stamp: number;
  truncated: number;
  link_id: string | null;
  requests: number;
}

function toHeld(r: Row): HeldMessage {
  return {
    text: r.text,
    stamp: toDate(r.stamp),
    truncated: r.truncated === 1,
    ...(r.link_id !== null && { id: r.link_id }),
    ...(r.requests !== 0 && { requests: { ...((r.requests & 1) !== 0 && { receipt: true }), ...((r.requests & 2) !== 0 && { markable: true }) } }),
  };
}

export class Held {
  private readonly insert;
  private readonly usage;
  private readonly select;
  private readonly del;
  private readonly takeTx;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.insert = db.prepare<[number, string, string, number, number, string | null, number]>(
      'INSERT INTO held (account_id, fingerprint, text, stamp, truncated, link_id, requests) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.usage = db.prepare<[number, string], { n: number; bytes: number }>(
      'SELECT count(*) AS n, coalesce(sum(length(CAST(text AS BLOB))), 0) AS bytes FROM held WHERE account_id = ? AND fingerprint = ?',
    );
    this.select = db.prepare<[number, string], Row>(
      'SELECT text, stamp, truncated, link_id, requests FROM held WHERE account_id = ? AND fingerprint = ? ORDER BY seq',
    );
    this.del = db.prepare<[number, string]>('DELETE FROM held WHERE account_id = ? AND fingerprint = ?');
    // Read and delete in one transaction, so a message is handed out exactly once.
    this.takeTx = db.transaction((accountId: number, fingerprint: string): HeldMessage[] => {
      const rows = this.select.all(accountId, fingerprint);
      this.del.run(accountId, fingerprint);
      return rows.map(toHeld);
    });
  }

  /**
   * Keeps a message; false when the peer's cap is reached and the message was not kept (the first ones
   * are kept: they introduce the stranger, and a flood cannot push them out).
   */
  add(
    accountId: AccountId,
    fingerprint: string,
    text: string,
    opts: { stamp?: Date | number; truncated?: boolean; id?: string; requests?: MessageRequests } = {},
  ): boolean {
    checkFingerprint(fingerprint);
    const { limits } = this.ctx;
    const cut = cutText(text, Math.min(limits.maxTextBytes, limits.maxHeldBytesPerPeer));
    const used = this.usage.get(accountId, fingerprint)!;
    if (used.n >= limits.maxHeldPerPeer) return false;
    if (used.bytes + Buffer.byteLength(cut.text) > limits.maxHeldBytesPerPeer) return false;
    const truncated = cut.cut || opts.truncated === true ? 1 : 0;
    withForeignKey('no-contact', `${fingerprint} is not a contact (or request) of account ${accountId}`, () =>
      this.insert.run(
        accountId,
        fingerprint,
        cut.text,
        toMs(opts.stamp, this.ctx.now),
        truncated,
        opts.id ?? null,
        (opts.requests?.receipt ? 1 : 0) | (opts.requests?.markable ? 2 : 0),
      ),
    );
    return true;
  }

  /** Everything held for the peer, oldest first, and forgets it. */
  take(accountId: AccountId, fingerprint: string): HeldMessage[] {
    return this.takeTx(accountId, fingerprint);
  }

  countFor(accountId: AccountId, fingerprint: string): number {
    return this.usage.get(accountId, fingerprint)!.n;
  }
}
