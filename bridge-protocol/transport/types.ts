// The transport contract (a dialer returns a connected byte stream to a peer, before TLS) and the helpers every dialer shares.
import type { Duplex } from 'node:stream';
import { AbortError, TimeoutError } from '../errors.js';

export interface DialTarget {
  /** A host name, an IP literal, or an .onion name (which only a Tor SOCKS dialer can reach). */
  host: string;
  port: number;
}

export interface DialOptions {
  /** Aborting destroys the half-made connection and rejects with AbortError. */
  signal?: AbortSignal;
  /** Overrides the dialer's default; the whole dial (all stages) must finish in this time. */
  timeoutMs?: number;
}

/**
 * Resolves with a connected stream (a net.Socket for TCP) that has no listeners of ours left
 * on it and has lost no byte. Rejects with PeerUnreachableError, TimeoutError or AbortError.
 */
export type Dialer = (target: DialTarget, opts?: DialOptions) => Promise<Duplex>;

/** "host:port", with brackets around an IPv6 literal. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for `x.onion` and `x.onion.` in any case. */
export function isOnionHost(host: string): boolean {
  return /\.onion\.?$/i.test(host);
}

/** Strips the brackets of "[::1]", which users copy from URLs. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks a timeout once, where it is configured, so a typo fails loudly instead of firing at once. */
export function checkTimeout(ms: number, name = 'timeoutMs'): number {
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${ms}`);
  }
  return ms;
}

export interface DialGuard<T> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
  resolve(value: T): void;
  /** Rejects (first call wins) and runs `destroy` so nothing half-open is left behind. */
  reject(err: Error): void;
}

/**
 * Settles a dial exactly once, whichever comes first: success, a failure, the timeout or the
 * AbortSignal. `describe` names what was being waited for when the timeout fires.
 */
export function guardDial<T>(
  describe: () => string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  destroy: () => void,
): DialGuard<T> {
  let settled = false;
  let resolveP!: (value: T) => void;
  let rejectP!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolveP = res;
    rejectP = rej;
  });
  const finish = (): void => {
    settled = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const guard: DialGuard<T> = {
    promise,
    get settled() {
      return settled;
    },
    resolve(value) {
      if (settled) return;
      finish();
      resolveP(value);
    },
    reject(err) {
      if (settled) return;
      finish();
      destroy();
      rejectP(err);
    },
  };
  const onAbort = (): void => guard.reject(new AbortError(describe()));
  const timer = setTimeout(() => guard.reject(new TimeoutError(describe(), timeoutMs)), timeoutMs);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return guard;
}
