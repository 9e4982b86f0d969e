// Stanzas for a user who was offline when they came (messages from peers, the gateway's notices),
// kept until their next login, across restarts: the store keeps them as XML text and knows nothing
// of XMPP. The oldest go first beyond the per-account limit; the caller is told how many.
import type { AccountId } from './accounts.js';
import type { StoreContext } from './common.js';

export class Undelivered {
  private readonly insert;
  private readonly count;
  private readonly trim;
  private readonly select;
  private readonly del;
  private readonly keepTx;
  private readonly takeTx;
  private readonly addDropped;
  private readonly takeDroppedTx;

  constructor(ctx: StoreContext) {
    const { db } = ctx;
    this.insert = db.prepare<[number, string, number]>('INSERT INTO undelivered (account_id, stanza, stored_at) VALUES (?, ?, ?)');
    this.count = db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM undelivered WHERE account_id = ?');
    this.trim = db.prepare<[number, number, number]>(
      'DELETE FROM undelivered WHERE seq IN (SELECT seq FROM undelivered WHERE account_id = ? ORDER BY seq LIMIT max(0, (SELECT count(*) FROM undelivered WHERE account_id = ?) - ?))',
    );
    this.select = db.prepare<[number], { stanza: string }>('SELECT stanza FROM undelivered WHERE account_id = ? ORDER BY seq');
    this.del = db.prepare<[number]>('DELETE FROM undelivered WHERE account_id = ?');
    this.addDropped = db.prepare<[number, number]>(
      'INSERT INTO undelivered_dropped (account_id, dropped) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET dropped = dropped + excluded.dropped',
    );
    const readDropped = db.prepare<[number], { dropped: number }>('SELECT dropped FROM undelivered_dropped WHERE account_id = ?');
    const clearDropped = db.prepare<[number]>('DELETE FROM undelivered_dropped WHERE account_id = ?');
    // The stanza, the trim and the count of what the trim dropped: one commit.
    this.keepTx = db.transaction((accountId: number, stanza: string, limit: number): number => {
      this.insert.run(accountId, stanza, ctx.now());
      const dropped = this.trim.run(accountId, accountId, limit).changes;
      if (dropped > 0) this.addDropped.run(accountId, dropped);
      return dropped;
    });
    this.takeDroppedTx = db.transaction((accountId: number): number => {
      const n = readDropped.get(accountId)?.dropped ?? 0;
      clearDropped.run(accountId);
      return n;
    });
    // Read and delete in one transaction: each stanza is handed out once.
    this.takeTx = db.transaction((accountId: number): string[] => {
      const rows = this.select.all(accountId).map((r) => r.stanza);
      this.del.run(accountId);
      return rows;
    });
  }

  /** Keeps one stanza; returns how many of the oldest were dropped to stay within `limit`. */
  keep(accountId: AccountId, stanza: string, limit: number): number {
    return this.keepTx(accountId, stanza, limit);
  }

  /** Everything kept for the account, oldest first, and forgets it. */
  take(accountId: AccountId): string[] {
    return this.takeTx(accountId);
  }

  /** How many were dropped since the last call (kept across restarts), and resets it. */
  takeDropped(accountId: AccountId): number {
    return this.takeDroppedTx(accountId);
  }

  countFor(accountId: AccountId): number {
    return this.count.get(accountId)!.n;
  }
}
