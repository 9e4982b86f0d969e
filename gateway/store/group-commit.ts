// Group commit: the messages written in one turn of the event loop (from every stream and link) share ONE
// SQLite transaction, and what must follow durability (a stream-management <a/>, a link's ACK, a message's
// way onto a link) waits for that commit with whenCommitted().
//
// How: the first run() opens a transaction (BEGIN); each run() is a savepoint in it, so a throw undoes that
// caller's writes only and reaches that caller, as a transaction of its own did. The group commits at the end of
// the loop turn (setImmediate), or at once when it holds `maxWrites` runs or `maxBytes` of text (a turn that
// reads a flood still commits in bounded steps), or when commitNow() is called (before acknowledging to a
// gateway peer, at close). Every write on the connection while the group is open joins it: code that tells
// anyone outside the process "it is stored" must do so in whenCommitted(), not after its statement returned.
// Reads see the group's writes (one connection), so queue limits and repeat checks work as before.
import type Database from 'better-sqlite3';

export interface GroupCommitOptions {
  /** Runs in one group before it commits at once (default 256). */
  maxWrites?: number;
  /** Bytes (as callers count them: the text) in one group before it commits at once (default 1 MiB). */
  maxBytes?: number;
  /** Where the end-of-turn commit is scheduled (tests); default setImmediate. */
  schedule?: (fn: () => void) => void;
}

/** Called once the writes made before it are committed (no error), or lost with a failed commit (err). */
export type CommitCallback = (err?: Error) => void;

export const GROUP_MAX_WRITES = 256;
export const GROUP_MAX_BYTES = 1 << 20;

export class GroupCommit {
  private readonly maxWrites: number;
  private readonly maxBytes: number;
  private readonly schedule: (fn: () => void) => void;
  private isOpen = false;
  private writes = 0;
  private bytes = 0;
  private waiters: CommitCallback[] = [];
  private scheduled = false;
  /** A commit before the end of the turn is due (the group reached a bound). */
  private early = false;
  /** Commits so far, and the runs they covered (for the bench and tests: how well grouping works). */
  readonly stats = { commits: 0, runs: 0, failures: 0 };
  /**
   * The group's statements, prepared once: `db.transaction(fn)()` per run built four wrapper functions each time
   * (3-5 % of a relaying gateway's CPU in the bench's profile), and exec() parsed BEGIN/COMMIT at every group.
   */
  private readonly sql;

  constructor(
    private readonly db: Database.Database,
    opts: GroupCommitOptions = {},
  ) {
    this.maxWrites = opts.maxWrites ?? GROUP_MAX_WRITES;
    this.maxBytes = opts.maxBytes ?? GROUP_MAX_BYTES;
    this.schedule = opts.schedule ?? setImmediate;
    this.sql = {
      begin: db.prepare('BEGIN'),
      commit: db.prepare('COMMIT'),
      savepoint: db.prepare('SAVEPOINT group_run'),
      release: db.prepare('RELEASE group_run'),
      rollbackTo: db.prepare('ROLLBACK TO group_run'),
    };
  }

  /** A group is open: writes made now are not durable yet. */
  get open(): boolean {
    return this.isOpen;
  }

  /**
   * Runs `fn` in the open group (opening one), as a savepoint: a throw rolls back what `fn` wrote and is rethrown.
   * Durable once the group commits (whenCommitted). `bytes` counts towards the group's size bound.
   */
  run<T>(fn: () => T, bytes = 0): T {
    // SQLite rolled the whole group back under us (a full disk, an I/O error in someone's statement): its
    // waiters learn it now, and this run starts a new group.
    if (this.isOpen && !this.db.inTransaction) this.fail(new Error('the group transaction was rolled back by SQLite'));
    // Inside a transaction of someone else (store.transaction around us): a savepoint in it, committed with it.
    if (!this.isOpen && this.db.inTransaction) return this.db.transaction(fn)();
    if (!this.isOpen) this.begin();
    const result = this.savepoint(fn);
    this.stats.runs++;
    this.writes++;
    this.bytes += bytes;
    // Not here and now: `run` may be inside a caller's store.transaction (a savepoint of ours), which a COMMIT
    // would end under it. A microtask runs once this synchronous stretch is over, before the next stanza.
    if ((this.writes >= this.maxWrites || this.bytes >= this.maxBytes) && !this.early) {
      this.early = true;
      queueMicrotask(() => this.commitQuietly());
    }
    return result;
  }

  /**
   * `cb` once everything written so far is committed: at once (synchronously) when no group is open, otherwise
   * right after its commit, in the order of the calls; with the error when that commit failed (the writes are gone).
   */
  whenCommitted(cb: CommitCallback): void {
    if (!this.isOpen) return cb();
    this.waiters.push(cb);
  }

  /** As whenCommitted, as a promise that rejects with a failed commit. */
  committed(): Promise<void> {
    return new Promise((resolve, reject) => this.whenCommitted((err) => (err ? reject(err) : resolve())));
  }

  /**
   * Commits the open group now (nothing to do when none is open), then runs its waiters. Throws the commit's error
   * after the waiters were told (its writes are rolled back).
   */
  commitNow(): void {
    if (!this.isOpen) return;
    let failure: Error | undefined;
    try {
      this.sql.commit.run();
      this.stats.commits++;
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    if (failure) {
      this.fail(failure);
      throw failure;
    }
    this.settle(undefined);
  }

  /** The group is lost: rolled back (if SQLite has not done it), its waiters told. */
  private fail(err: Error): void {
    this.stats.failures++;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.settle(err);
  }

  private settle(failure: Error | undefined): void {
    const waiters = this.waiters;
    this.waiters = [];
    this.isOpen = false;
    this.writes = 0;
    this.bytes = 0;
    for (const cb of waiters) {
      try {
        cb(failure);
      } catch {
        // A waiter's own failure is its business; the others are told all the same.
      }
    }
  }

  /** `fn` in a savepoint of the open group: what it wrote is undone when it throws (as db.transaction does). */
  private savepoint<T>(fn: () => T): T {
    this.sql.savepoint.run();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      // SQLite may have rolled the whole group back already (a full disk): then there is no savepoint to undo.
      if (this.db.inTransaction) {
        this.sql.rollbackTo.run();
        this.sql.release.run();
      }
      throw err;
    }
    this.sql.release.run();
    return result;
  }

  private begin(): void {
    this.sql.begin.run();
    this.isOpen = true;
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.commitQuietly();
    });
  }

  private commitQuietly(): void {
    this.early = false;
    try {
      this.commitNow();
    } catch {
      // Told to the waiters; the callers that need it (acks) act on it there.
    }
  }
}
