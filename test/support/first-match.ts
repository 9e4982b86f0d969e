// Waiting on a list that only grows (stanzas, driver events, log lines, IRC lines): the first item
// matching, already there or still to come, with a timeout and an early end once no more can come.

export interface FirstMatchOptions {
  /** Index of the first item to look at (a mark taken earlier); items before it are skipped. */
  from: number;
  timeoutMs: number;
  /** Asked whenever nothing matched yet: the rejection message once the source is gone, else undefined. */
  ended?: () => string | undefined;
  /** The rejection message on timeout, built when it happens (so it can show what arrived). */
  timedOut: () => string;
}

/**
 * Resolves with the first item from `o.from` on that matches. The owner of `items` calls every
 * function in `waiters` after each push (and when its source ends); a pending wait sits there.
 */
export function firstMatch<T>(items: readonly T[], waiters: Set<() => void>, pred: (item: T) => boolean, o: FirstMatchOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    let next = o.from;
    const finish = (): void => {
      clearTimeout(timer);
      waiters.delete(poll);
    };
    const poll = (): void => {
      for (; next < items.length; next++) {
        if (pred(items[next]!)) {
          finish();
          resolve(items[next]!);
          return;
        }
      }
      const gone = o.ended?.();
      if (gone !== undefined) {
        finish();
        reject(new Error(gone));
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(o.timedOut()));
    }, o.timeoutMs);
    waiters.add(poll);
    poll();
  });
}
