// Undoing a start: each step bounded by one overall deadline, so a stuck step cannot keep the
// store, the runtime file or the lock from being released.
import type { Logger } from 'pino';

/** Longest a graceful stop may take before the rest is cut (the peer manager itself waits up to 6 s). */
export const STOP_TIMEOUT_MS = 10_000;

/**
 * Undoes start in reverse order: control socket, XMPP streams (</stream:stream>) and peer links
 * (close_notify) bounded by STOP_TIMEOUT_MS, then the store, runtime file and lock, which must go even
 * when a link would not close in time.
 */
export async function runCleanup(steps: Array<() => unknown>, log: Logger): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (const step of steps.splice(0)) {
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(0, deadline - Date.now());
    try {
      await Promise.race([
        Promise.resolve().then(step),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not done within ${STOP_TIMEOUT_MS / 1000} s`)), left);
        }),
      ]);
    } catch (err) {
      log.warn({ err }, 'a step of the shutdown failed; going on');
    } finally {
      clearTimeout(timer);
    }
  }
}
