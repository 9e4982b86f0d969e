// What the store's repositories share: the open database, the clock, the limits and the input checks.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { StoreError, type StoreErrorCode } from './errors.js';

export interface StoreLimits {
  /** Longest text queued, archived or held, in UTF-8 bytes. Archived text beyond it is cut and marked. */
  readonly maxTextBytes: number;
  /** Messages kept per unknown peer until its request is answered; more are refused (not kept). */
  readonly maxHeldPerPeer: number;
  /** Bytes kept per unknown peer, for the same reason: a stranger must not fill the disk. */
  readonly maxHeldBytesPerPeer: number;
  /** Messages waiting for one peer; past it enqueue fails (queue-full) instead of growing forever. */
  readonly maxQueuedPerPeer: number;
  /** Longest contact name, in characters. */
  readonly maxNameLength: number;
  /** Chat markers waiting for one peer's gateway; past it the oldest go (a newer marker says more). */
  readonly maxMarkersPerPeer: number;
}

export const DEFAULT_LIMITS: StoreLimits = {
  maxTextBytes: 1024 * 1024,
  maxHeldPerPeer: 100,
  maxHeldBytesPerPeer: 1024 * 1024,
  maxQueuedPerPeer: 10_000,
  maxNameLength: 1023,
  maxMarkersPerPeer: 1000,
};

export interface StoreContext {
  readonly db: Database.Database;
  /** Milliseconds since the epoch; injected so tests control stamps. */
  readonly now: () => number;
  readonly limits: StoreLimits;
}

const FINGERPRINT = /^[0-9a-f]{64}$/;

export function checkFingerprint(fp: string): string {
  if (!FINGERPRINT.test(fp)) {
    throw new StoreError('bad-fingerprint', `not a fingerprint (64 lowercase hex characters): ${JSON.stringify(fp.slice(0, 80))}`);
  }
  return fp;
}

export function checkText(ctx: StoreContext, text: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4): most texts need no count.
  if (text.length * 3 <= ctx.limits.maxTextBytes) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > ctx.limits.maxTextBytes) {
    throw new StoreError('too-large', `text of ${bytes} bytes is over the limit of ${ctx.limits.maxTextBytes}`);
  }
  return text;
}

/** Cuts text to at most `max` UTF-8 bytes without splitting a character. */
export function cutText(text: string, max: number): { text: string; cut: boolean } {
  if (text.length * 3 <= max) return { text, cut: false };
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return { text, cut: false };
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return { text: buf.subarray(0, end).toString('utf8'), cut: true };
}

/** Runs a write; a foreign-key failure becomes a StoreError with a reason instead of SQLITE_CONSTRAINT. */
export function withForeignKey<T>(code: StoreErrorCode, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new StoreError(code, message);
    throw err;
  }
}

/**
 * The exclusive bounds of an archive page (RSM <after/>/<before/>) on the (stamp, id) order, appended to a
 * query's WHERE; the plain stamp bound lets the index range start there. `at` finds a message by its id
 * (undefined: not there, which throws `unknown`'s error).
 */
export function appendIdBounds(
  q: { readonly afterId?: string; readonly beforeId?: string },
  where: string[],
  args: (string | number)[],
  at: (id: string) => { stamp: number; id: number } | undefined,
  unknown: (id: string) => StoreError,
): void {
  for (const [id, op] of [
    [q.afterId, '>'],
    [q.beforeId, '<'],
  ] as const) {
    if (id === undefined) continue;
    const found = at(id);
    if (!found) throw unknown(id);
    where.push(`stamp ${op}= ? AND (stamp, id) ${op} (?, ?)`);
    args.push(found.stamp, found.stamp, found.id);
  }
}

export function toDate(ms: number): Date;
export function toDate(ms: number | null): Date | undefined;
export function toDate(ms: number | null): Date | undefined {
  return ms === null ? undefined : new Date(ms);
}

export function toMs(at: Date | number | undefined, now: () => number): number {
  if (at === undefined) return now();
  return typeof at === 'number' ? at : at.getTime();
}

/**
 * A UUID version 7 (RFC 9562): the time in milliseconds in its first 48 bits, then the version, and 74 random bits
 * (those of a random UUID). As unique and unguessable as randomUUID(), but ids made close in time sort together:
 * an index on them grows at its end instead of taking a random page per insert.
 */
export function timeOrderedId(now = Date.now()): string {
  const ms = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; keep from the 3 digits after the version on.
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${randomUUID().slice(15)}`;
}
