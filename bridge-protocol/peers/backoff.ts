// Reconnection delays: exponential backoff with jitter, so peers that lost each other do not redial in lockstep.

export interface BackoffOptions {
  /** Base of the first delay (default 1 000 ms; the first retry then comes within 1 s). */
  initialMs?: number;
  /** Largest delay (default and upper bound: 5 minutes). */
  maxMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

export const DEFAULT_INITIAL_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Delay n (counting from 0) is drawn from [base/2, base] with base = min(max, initial * 2^n):
 * "equal jitter" keeps a floor (no hammering) while two peers that failed together spread out.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  /** Failures since the last reset; the next delay grows with it. */
  attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxMs = opts.maxMs ?? MAX_BACKOFF_MS;
    this.random = opts.random ?? Math.random;
    // The first retry must come within 2 s (the jitter only ever shortens a delay).
    if (!Number.isFinite(this.initialMs) || this.initialMs <= 0 || this.initialMs > 2_000) {
      throw new RangeError(`backoff initialMs must be in (0, 2000], got ${this.initialMs}`);
    }
    if (!Number.isFinite(this.maxMs) || this.maxMs < this.initialMs || this.maxMs > MAX_BACKOFF_MS) {
      throw new RangeError(`backoff maxMs must be in [initialMs, ${MAX_BACKOFF_MS}], got ${this.maxMs}`);
    }
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    // 2^attempt overflows to Infinity long after it passed the cap; min() keeps it finite.
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 40));
    this.attempt++;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(base / 2 + (r * base) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
