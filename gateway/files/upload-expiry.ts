// Deleting files whose time is over (files.expiry_days, and slots never used): at start and every hour, one
// pass at a time, in batches (upload-store.ts sweep), as archive-retention.ts does for the history.
import type { Logger } from 'pino';
import type { UploadStore } from './upload-store.js';

export const EXPIRY_INTERVAL_MS = 60 * 60 * 1000;

export interface UploadExpiry {
  /** One pass; resolves with how many files were deleted. */
  sweep(): Promise<number>;
  stop(): void;
}

export function startUploadExpiry(uploads: UploadStore, log: Logger, intervalMs = EXPIRY_INTERVAL_MS): UploadExpiry {
  let stopped = false;
  let running: Promise<number> | undefined;
  const sweep = (): Promise<number> => {
    if (stopped) return Promise.resolve(0);
    running ??= uploads
      .sweep()
      .catch((err: unknown) => {
        log.error({ err }, 'deleting expired files failed');
        return 0;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  void sweep();
  return {
    sweep,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
