// Slows down password guessing against the local account: after a few free failures each
// further attempt from the same key (e.g. remote address) waits exponentially longer
// (RFC 6120 §13.3 asks servers to limit authentication attempts).

export interface LoginRateLimiterOptions {
  /** Failures allowed before any delay. */
  freeFailures?: number /* 5 */;
  /** Delay after the first failure past the free ones; doubles with each further failure. */
  baseDelayMs?: number /* 1000 */;
  maxDelayMs?: number /* 60000 */;
  /** Keys remembered at most; the least recently failing is forgotten first. */
  maxKeys?: number /* 10000 */;
  /** A key quiet for this long starts again from zero. */
  forgetAfterMs?: number /* 15 min */;
  now?: () => number;
}

interface Entry {
  failures: number;
  lastFailure: number;
}

export class LoginRateLimiter {
  readonly #free: number;
  readonly #base: number;
  readonly #max: number;
  readonly #maxKeys: number;
  readonly #forgetAfter: number;
  readonly #now: () => number;
  // A Map iterates in insertion order: re-inserting on each failure makes it an LRU.
  readonly #entries = new Map<string, Entry>();

  constructor(opts: LoginRateLimiterOptions = {}) {
    this.#free = opts.freeFailures ?? 5;
    this.#base = opts.baseDelayMs ?? 1000;
    this.#max = opts.maxDelayMs ?? 60_000;
    this.#maxKeys = Math.max(1, opts.maxKeys ?? 10_000);
    // Never forget a key while it is still being made to wait.
    this.#forgetAfter = Math.max(opts.forgetAfterMs ?? 15 * 60_000, this.#max);
    this.#now = opts.now ?? Date.now;
  }

  check(key: string): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const entry = this.#live(key);
    if (!entry || entry.failures < this.#free) return { allowed: true };
    const retryAfterMs = entry.lastFailure + this.#delay(entry.failures) - this.#now();
    return retryAfterMs > 0 ? { allowed: false, retryAfterMs } : { allowed: true };
  }

  recordFailure(key: string): void {
    const entry = this.#live(key) ?? { failures: 0, lastFailure: 0 };
    entry.failures += 1;
    entry.lastFailure = this.#now();
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    // Bounded memory whatever the number of addresses an attacker uses.
    while (this.#entries.size > this.#maxKeys) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  recordSuccess(key: string): void {
    this.#entries.delete(key);
  }

  /** Number of keys remembered (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && this.#now() - entry.lastFailure >= this.#forgetAfter) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Wait after `failures` failures: base, 2·base, 4·base … capped. */
  #delay(failures: number): number {
    const doublings = Math.min(failures - this.#free, 30);
    return Math.min(this.#max, this.#base * 2 ** doublings);
  }
}
