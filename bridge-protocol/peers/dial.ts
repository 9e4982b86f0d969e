// One outbound attempt: reach the address through its dialer, then the TLS handshake, expecting a known fingerprint; every stage bounded.
import type { Duplex } from 'node:stream';
import { AbortError, TimeoutError } from '../errors.js';
import { dialLink, type Link } from '../link.js';
import type { Logger } from '../logger.js';
import type { TlsContext } from '../tls-context.js';
import { formatAddress, type Dialer } from '../transport/types.js';

export interface PeerAddress {
  host: string;
  port: number;
}

export interface DialPeerOptions {
  fingerprint: string;
  address: PeerAddress;
  dialer: Dialer;
  tls: TlsContext;
  dialTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxMessageBytes?: number;
  /** Gateway ALPN ids, best first (default GATEWAY_ALPNS). */
  gatewayAlpns?: readonly string[];
  signal: AbortSignal;
  log: Logger;
}

/**
 * Resolves with an authenticated, unstarted link to exactly `fingerprint`. Rejects with the
 * dialer's PeerUnreachableError, HandshakeError, FingerprintMismatchError, TimeoutError or
 * AbortError; nothing half-open is left behind.
 */
export async function dialPeer(o: DialPeerOptions): Promise<Link> {
  const where = formatAddress(o.address.host, o.address.port);
  const raw = await withDeadline(
    o.dialer({ host: o.address.host, port: o.address.port }, { signal: o.signal, timeoutMs: o.dialTimeoutMs }),
    o.dialTimeoutMs,
    o.signal,
    `connecting to ${where}`,
  );
  try {
    return await dialLink(raw, o.tls, {
      expectedFingerprint: o.fingerprint,
      address: where,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      signal: o.signal,
      maxMessageBytes: o.maxMessageBytes,
      gatewayAlpns: o.gatewayAlpns,
      log: o.log,
    });
  } catch (err) {
    // A TLS socket over a generic stream does not always take the stream down with it.
    raw.destroy();
    throw err;
  }
}

/**
 * The dialer promises to honour timeoutMs and the signal; we do not rely on it (a dialer that
 * hangs must not hold a dial slot forever). A stream that arrives too late is destroyed.
 */
function withDeadline(p: Promise<Duplex>, ms: number, signal: AbortSignal, what: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(new AbortError(what));
    };
    // A little later than the dialer's own timer, so its more precise error normally wins.
    const timer = setTimeout(() => finish() && reject(new TimeoutError(what, ms)), ms + 50);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    p.then(
      (stream) => (finish() ? resolve(stream) : stream.destroy()),
      (err: unknown) => finish() && reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
