// What a room host allows each member of the rate of its lines and of its chat markers (docs/rooms.md): a token
// bucket (a burst, refilled per second), and for markers, one per member and message, remembered within a bound.
// A member past its lines' rate is cut (it floods the room); a marker past its rate is only dropped (it shows
// nobody anything new that the next one will not).

/** A burst of `burst` at once, refilled at `perSecond`; `now` in ms (injected by tests). */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly burst: number, private readonly perSecond: number, now = Date.now()) {
    this.tokens = burst;
    this.refilledAt = now;
  }

  /** One token; false when the burst is spent faster than the refill. */
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface MarkLimits {
  /** Markers at once, and refilled per second (default 20 and 2: a member's lines' own defaults). */
  burst?: number;
  perSecond?: number;
  /** Message ids remembered as marked by the member (default 500; the oldest forgotten first). */
  remembered?: number;
}

/** One member's markers: each message once, within the rate. */
export class MemberMarks {
  private readonly marked = new Set<string>();
  private readonly bucket: TokenBucket;
  private readonly remembered: number;

  constructor(limits: MarkLimits = {}, now = Date.now()) {
    this.bucket = new TokenBucket(limits.burst ?? 20, limits.perSecond ?? 2, now);
    this.remembered = limits.remembered ?? 500;
  }

  /** This member's marker of message `id` is relayed: not seen from it before, and within its rate. */
  accept(id: string, now = Date.now()): boolean {
    if (this.marked.has(id) || !this.bucket.take(now)) return false;
    this.marked.add(id);
    if (this.marked.size > this.remembered) this.marked.delete(this.marked.values().next().value!);
    return true;
  }
}
