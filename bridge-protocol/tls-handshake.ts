// The TLS handshake of a link, bounded by a timeout and an abort signal, and what it tells us: the peer's
// fingerprint and the protocol agreed by ALPN.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { AbortError, HandshakeError, TimeoutError } from './errors.js';
import { fingerprintOf } from './identity.js';
import { GATEWAY_ALPN, GATEWAY_ALPNS, GATEWAY_ALPN_V1, GATEWAY_ALPN_V2, ROOM_ALPN, type LinkProtocol } from './tls-context.js';

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

export interface HandshakeOptions {
  handshakeTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Waits for the TLS handshake, honouring a timeout and an abort signal. */
export function handshake(socket: TLSSocket, event: 'secure' | 'secureConnect', opts: HandshakeOptions): Promise<void> {
  const ms = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onSecure = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => fail(new HandshakeError(`TLS handshake failed: ${err.message}`, { cause: err }));
    const onClose = (): void => fail(new HandshakeError('the peer closed the connection during the TLS handshake'));
    const onAbort = (): void => fail(new AbortError('TLS handshake'));
    const timer = setTimeout(() => fail(new TimeoutError('TLS handshake', ms)), ms);
    function cleanup(): void {
      clearTimeout(timer);
      socket.off(event, onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (opts.signal?.aborted) return onAbort();
    socket.once(event, onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A chat message is one small TLS record that must leave at once: with Nagle's algorithm on (Node's
 * default) it can wait for the ACK of the previous one, which the peer delays (~20-40 ms).
 */
export function noDelay(raw: Duplex): void {
  (raw as Partial<Socket>).setNoDelay?.(true);
}

/** The protocol agreed; an id we did not offer (an acceptor echoes a foreign first choice) is plain lines. */
export function protocolOf(socket: TLSSocket, ours: readonly string[] = GATEWAY_ALPNS): LinkProtocol {
  const id = socket.alpnProtocol;
  if (typeof id !== 'string' || !ours.includes(id)) return 'plain';
  if (id === GATEWAY_ALPN) return 'gateway/3';
  if (id === ROOM_ALPN) return 'room/1';
  if (id === GATEWAY_ALPN_V2) return 'gateway/2';
  return id === GATEWAY_ALPN_V1 ? 'gateway/1' : 'plain';
}

export function peerFingerprint(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  return cert ? fingerprintOf(cert.raw) : undefined;
}
