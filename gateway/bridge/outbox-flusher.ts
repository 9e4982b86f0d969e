// Writes each peer's persistent outgoing queue to its link, in order, one drain per peer at a time.
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { short } from './names.js';

/** Messages written to a link per round before the queue is read again. */
const FLUSH_BATCH = 50;

export interface OutboxFlusherOptions {
  store: Store;
  accountId: number;
  /** Resolves once the peer has the text: acknowledged by a gateway peer, written to a reference peer's link. */
  send(fp: string, text: string): Promise<void>;
  isOnline(fp: string): boolean;
  log: Logger;
}

export class OutboxFlusher {
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly o: OutboxFlusherOptions) {}

  /**
   * Writes the peer's queue to its link in order. While a drain runs, flush() returns it, and it
   * reads the queue again before it ends, so nothing queued meanwhile is left behind.
   */
  flush(fp: string): Promise<void> {
    let running = this.running.get(fp);
    if (!running) {
      running = Promise.resolve().then(() => this.drain(fp));
      this.running.set(fp, running);
    }
    return running;
  }

  /**
   * Never rejects: a link that goes down mid-way leaves the rest queued for the next link. A batch is
   * written to the link without waiting for each write in turn (one TLS socket keeps the order), then
   * the entries whose sends completed (a gateway peer acknowledged them, or the write to a reference
   * peer completed), in queue order up to the first failure, leave the queue in one transaction: a
   * failed send leaves it and everything after it queued (at-least-once: a crash between a send and
   * that removal sends the batch's messages again after a restart).
   */
  private async drain(fp: string): Promise<void> {
    const { store, accountId } = this.o;
    try {
      for (;;) {
        const items = store.outbox.peek(accountId, fp, FLUSH_BATCH);
        if (items.length === 0 || !this.o.isOnline(fp)) return;
        const results = await Promise.allSettled(items.map((item) => this.o.send(fp, item.text)));
        const failed = results.findIndex((r) => r.status === 'rejected');
        const written = failed < 0 ? items : items.slice(0, failed);
        store.transaction(() => {
          for (const item of written) store.outbox.remove(accountId, item.seq);
        });
        if (failed >= 0) throw (results[failed] as PromiseRejectedResult).reason;
      }
    } catch (err) {
      this.o.log.debug({ peer: short(fp), err: (err as Error).message }, 'flush interrupted');
    } finally {
      // Synchronously with the last look at the queue: a flush after this starts a new drain.
      this.running.delete(fp);
    }
  }
}
