// Deleting history older than archive.retention_days: at start and every hour, in small batches with the
// event loop free between them, so a year of history to drop never holds a long transaction.
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** Rows per DELETE: about a millisecond of work each. */
export const RETENTION_BATCH = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ArchiveRetentionOptions {
  store: Pick<Store, 'archive' | 'accounts'>;
  /** 0: keep forever (nothing runs). */
  days: number;
  log: Logger;
  intervalMs?: number;
  batch?: number;
  now?: () => number;
}

export interface ArchiveRetention {
  /** One pass over every account; resolves with how many messages were deleted. */
  prune(): Promise<number>;
  stop(): void;
}

export function startArchiveRetention(opts: ArchiveRetentionOptions): ArchiveRetention {
  const batch = opts.batch ?? RETENTION_BATCH;
  const now = opts.now ?? Date.now;
  let stopped = opts.days === 0;
  let running: Promise<number> | undefined;
  const pass = async (): Promise<number> => {
    const cutoff = now() - opts.days * DAY_MS;
    let deleted = 0;
    for (const account of opts.store.accounts.list()) {
      while (!stopped) {
        const n = opts.store.archive.pruneOlderThan(account.id, cutoff, batch);
        deleted += n;
        if (n < batch) break;
        await new Promise((r) => setImmediate(r));
      }
    }
    if (deleted > 0) opts.log.info({ deleted, days: opts.days }, 'old messages deleted from the history');
    return deleted;
  };
  const prune = (): Promise<number> => {
    if (stopped) return Promise.resolve(0);
    running ??= pass()
      .catch((err: unknown) => {
        opts.log.error({ err }, 'deleting old history failed');
        return 0;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const timer = stopped ? undefined : setInterval(() => void prune(), opts.intervalMs ?? RETENTION_INTERVAL_MS);
  timer?.unref();
  void prune();
  return {
    prune,
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
