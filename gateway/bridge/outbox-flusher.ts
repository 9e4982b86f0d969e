// Writes each peer's persistent outgoing queue to its link, in order, one drain per peer at a time.
import type { Logger } from 'pino';
import type { OutboxItem, Store } from '../store/index.js';
import { short } from './names.js';
import { PerPeerDrain } from './per-peer-drain.js';

/** Acknowledged messages leave the queue in transactions of up to this many. */
const FLUSH_BATCH = 100;
/**
 * Messages handed to a link and not yet acknowledged. A gateway peer acknowledges each message;
 * keeping several batches on the way keeps the link busy instead of waiting a round trip per batch.
 */
const WINDOW = 4 * FLUSH_BATCH;

export interface OutboxFlusherOptions {
  store: Store;
  accountId: number;
  /**
   * Resolves once the peer has the message: acknowledged by a gateway peer, written to a reference peer's link.
   * With its link id and requests to a gateway/3 peer; its text alone to any other.
   */
  send(fp: string, item: OutboxItem): Promise<void>;
  isOnline(fp: string): boolean;
  log: Logger;
}

export class OutboxFlusher {
  private readonly drains = new PerPeerDrain((fp) => this.drain(fp));

  constructor(private readonly o: OutboxFlusherOptions) {}

  /**
   * Writes the peer's queue to its link in order. While a drain runs, flush() returns it, and it
   * reads the queue again before it ends, so nothing queued meanwhile is left behind.
   */
  flush(fp: string): Promise<void> {
    return this.drains.run(fp);
  }

  /**
   * Never rejects: a link that goes down mid-way leaves the rest queued for the next link. Up to
   * WINDOW messages are on the link at once (one TLS socket keeps the order); as the oldest ones
   * are acknowledged by a gateway peer (or written, to a reference peer) they leave the queue, in
   * queue order up to the first failure, in one transaction per batch. A failed send leaves it and
   * everything after it queued (at-least-once: a crash between a send and its removal, or a link
   * lost with later messages acknowledged, sends them again on the next link).
   */
  private async drain(fp: string): Promise<void> {
    const { store, accountId } = this.o;
    const onLink: Array<{ seq: number; sent: Promise<boolean> }> = [];
    let after = 0;
    let failure: unknown;
    try {
      for (;;) {
        // Only what is committed goes onto a link: a message a crash could still undo must not reach the peer
        // (its sender, never acknowledged, would send it again). Rows of the open group wait for its commit.
        while (store.group.open) await store.group.committed().catch(() => undefined);
        if (onLink.length < WINDOW && this.o.isOnline(fp)) {
          for (const item of store.outbox.peek(accountId, fp, WINDOW - onLink.length, after)) {
            const sent = this.o.send(fp, item).then(
              () => true,
              (err: unknown) => {
                failure ??= err;
                return false;
              },
            );
            onLink.push({ seq: item.seq, sent });
            after = item.seq;
          }
        }
        if (onLink.length === 0) return;
        const batch = onLink.splice(0, FLUSH_BATCH);
        const ok = await Promise.all(batch.map((m) => m.sent));
        const bad = ok.indexOf(false);
        const done = bad < 0 ? batch : batch.slice(0, bad);
        // In the turn's group: a removal lost to a crash only sends the message again (the receiver drops it by id).
        // One range: the peer's rows came from peek() in seq order with nothing of the peer's between them (a row
        // queued later has a higher seq), so from the first to the last sent is exactly what was sent.
        if (done.length > 0) store.group.run(() => store.outbox.removeRange(accountId, fp, done[0]!.seq, done[done.length - 1]!.seq));
        if (bad >= 0) throw failure;
      }
    } catch (err) {
      this.o.log.debug({ peer: short(fp), err: (err as Error).message }, 'flush interrupted');
    } finally {
      // Synchronously with the last look at the store: a flush after this starts a new drain.
      this.drains.ended(fp);
    }
  }
}
