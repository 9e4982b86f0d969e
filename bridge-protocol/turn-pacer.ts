// Work that may be late but must not come all at once: queued jobs run in order, a few milliseconds of them per
// event-loop turn, so a burst (every link of the process ending together) does not hold up the links still in use.

export interface TurnPacerOptions {
  /** Longest stretch of jobs in one turn (ms); the first job of a turn always runs. Default 2. */
  budgetMs?: number;
  /** The clock the budget is measured on (ms). */
  now?: () => number;
  /** Runs `slice` in a later turn of the loop (default setImmediate: after the I/O of this turn). */
  schedule?: (slice: () => void) => void;
  /** A job threw: reported here; the jobs after it still run. */
  onError?: (err: unknown) => void;
}

/** Per turn: about as long as one message's round trip through a link, so a chat never waits behind a burst for more. */
export const DEFAULT_TURN_BUDGET_MS = 2;

/**
 * Why: when every peer's link drops at once (the network came back, a relay restarted), ending ~1 000 TLS sockets
 * in one turn (TLS shutdown, close callbacks, handlers) stalled the loop ~100 ms and every chat with it
 * (bench/README.md, storms). Jobs never run synchronously from run(): each waits for at least the next turn, so a
 * job queued while a slice runs goes to a later slice.
 */
export class TurnPacer {
  private queue: Array<() => void> = [];
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly budgetMs: number;
  private readonly now: () => number;
  private readonly schedule: (slice: () => void) => void;
  private readonly onError: (err: unknown) => void;

  constructor(o: TurnPacerOptions = {}) {
    this.budgetMs = o.budgetMs ?? DEFAULT_TURN_BUDGET_MS;
    this.now = o.now ?? (() => performance.now());
    this.schedule = o.schedule ?? ((slice) => void setImmediate(slice));
    this.onError = o.onError ?? (() => {});
  }

  /** Jobs waiting for their turn. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queue a job; it runs in a later turn, after the jobs queued before it. */
  run(job: () => void): void {
    this.queue.push(job);
    this.wake();
  }

  /** Resolves once no job is waiting (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.slice());
  }

  private slice(): void {
    this.scheduled = false;
    // Only what was queued before this turn: a job queued by a job waits for the next one.
    const end = this.queue.length;
    const start = this.now();
    let done = 0;
    while (done < end) {
      const job = this.queue[done++]!;
      try {
        job();
      } catch (err) {
        this.onError(err);
      }
      if (this.now() - start >= this.budgetMs) break;
    }
    this.queue.splice(0, done);
    if (this.queue.length > 0) this.wake();
    else for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

let processPacer: TurnPacer | undefined;

/**
 * The one pacer of the process: the event loop is shared by every manager (one per account in transport mode), so
 * its budget must be too. Made on first use. (The one module-level state of bridge-protocol, for that reason;
 * tests give a link their own pacer through LinkOptions.)
 */
export function teardownPacer(): TurnPacer {
  processPacer ??= new TurnPacer({ onError: (err) => process.emitWarning(`a paced teardown job failed: ${err instanceof Error ? err.message : String(err)}`) });
  return processPacer;
}
