// One timer for the settle waits of all of a manager's peers: a peer whose link ended while another may be on its
// way waits settleMs before it is reported offline, and every peer that starts waiting shares the one timer.

export interface SettleDeadlinesOptions {
  /** How long a peer waits for its replacement link (the same for every peer, so deadlines come in the order set). */
  delayMs: number;
  /** A monotonic clock (ms). */
  now?: () => number;
}

interface Waiting {
  at: number;
  expire: () => void;
}

/**
 * Why one timer: when ~1 000 links drop together while handshakes are pending, each peer used to arm its own
 * setTimeout in the turn of the drop (bench/README.md, the drop's own down handling). Here a wait is an entry in a
 * map kept in deadline order (one delay for all, so the order of start); the timer is armed for the first entry
 * and, when it fires, expires every entry that is due and re-arms for the next one. Ending a wait is a delete.
 */
export class SettleDeadlines {
  private readonly waiting = new Map<object, Waiting>();
  private timer: NodeJS.Timeout | undefined;
  private readonly delayMs: number;
  private readonly now: () => number;

  constructor(o: SettleDeadlinesOptions) {
    this.delayMs = o.delayMs;
    this.now = o.now ?? (() => performance.now());
  }

  has(key: object): boolean {
    return this.waiting.has(key);
  }

  /** `key` waits delayMs from now; then `expire` runs (once), unless delete(key) came first. Again for a waiting key: a new wait. */
  start(key: object, expire: () => void): void {
    this.waiting.delete(key);
    this.waiting.set(key, { at: this.now() + this.delayMs, expire });
    this.arm();
  }

  /** The wait of `key` ends without expiring (its link came). The last one gone: no timer left. */
  delete(key: object): void {
    if (!this.waiting.delete(key)) return;
    if (this.waiting.size === 0) this.disarm();
  }

  /** Ends every wait without expiring and clears the timer (the manager stops). */
  clear(): void {
    this.waiting.clear();
    this.disarm();
  }

  private arm(): void {
    if (this.timer) return;
    const first = this.waiting.values().next();
    if (first.done) return;
    this.timer = setTimeout(() => this.expireDue(), Math.max(1, Math.ceil(first.value.at - this.now())));
    // A daemon is kept alive by its listeners; a settle wait alone should not.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expireDue(): void {
    this.timer = undefined;
    const now = this.now();
    try {
      for (const [key, w] of this.waiting) {
        if (w.at > now) break;
        this.waiting.delete(key);
        w.expire();
      }
    } finally {
      this.arm();
    }
  }
}
