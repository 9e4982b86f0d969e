// Why a dial failed, in words a user understands: socket errno codes and SOCKS5 reply codes (RFC 1928 §6, Tor's ExtendedErrors).
import { PeerUnreachableError, type UnreachableReason } from '../errors.js';

export interface FailureText {
  reason: UnreachableReason;
  /** Lower-case, no trailing period: it is appended to "cannot reach X: ". */
  message: string;
}

const socketErrors: Readonly<Record<string, FailureText>> = {
  ECONNREFUSED: { reason: 'connection-refused', message: 'connection refused' },
  EHOSTUNREACH: { reason: 'host-unreachable', message: 'host unreachable' },
  EHOSTDOWN: { reason: 'host-unreachable', message: 'host is down' },
  // The operating system gave up on the TCP handshake before our own timer did.
  ETIMEDOUT: { reason: 'host-unreachable', message: 'no answer from the host (connection timed out)' },
  ENETUNREACH: { reason: 'network-unreachable', message: 'network unreachable' },
  ENETDOWN: { reason: 'network-unreachable', message: 'network is down' },
  EADDRNOTAVAIL: { reason: 'network-unreachable', message: 'address not available from this machine' },
  ENOTFOUND: { reason: 'host-not-found', message: 'host name not found' },
  EAI_AGAIN: { reason: 'host-not-found', message: 'host name could not be resolved (DNS failure)' },
  ECONNRESET: { reason: 'connection-reset', message: 'connection reset' },
  EPIPE: { reason: 'connection-reset', message: 'connection closed by the other side' },
};

/** Maps a Node socket error (`err.code`) to a reason and a short message. */
export function describeSocketError(err: unknown): FailureText {
  // Node 20 tries every address of a name (autoSelectFamily) and may report an AggregateError.
  if (err instanceof AggregateError && (err as { code?: unknown }).code === undefined && err.errors.length > 0) {
    return describeSocketError(err.errors[0]);
  }
  const code = (err as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? socketErrors[code] : undefined;
  if (known) return known;
  const detail = err instanceof Error ? err.message : String(err);
  return { reason: 'unknown', message: detail };
}

/** The error a direct dial reports for a socket error while connecting to `address`. */
export function unreachableFromSocketError(err: unknown, address: string): PeerUnreachableError {
  const { reason, message } = describeSocketError(err);
  return new PeerUnreachableError(`cannot reach ${address}: ${message}`, reason, { cause: err });
}

/**
 * SOCKS5 reply codes. 0x01-0x08 are RFC 1928; 0xF0-0xF7 are Tor's extended errors (SocksPort
 * flag ExtendedErrors, Tor 0.4.3+), which tell *why* an onion service is unreachable.
 * Exported so the Tor integration reuses the same words.
 */
export const SOCKS5_REPLIES: Readonly<Record<number, FailureText>> = {
  0x01: { reason: 'general-failure', message: 'the proxy reported a general failure (the peer may not be accepting connections)' },
  0x02: { reason: 'not-allowed', message: 'connection not allowed by the proxy rules' },
  0x03: { reason: 'network-unreachable', message: 'network unreachable' },
  0x04: { reason: 'host-unreachable', message: 'host unreachable' },
  0x05: { reason: 'connection-refused', message: 'connection refused' },
  0x06: { reason: 'ttl-expired', message: 'timed out reaching the peer over Tor' },
  0x07: { reason: 'unsupported', message: 'the proxy does not support the CONNECT command' },
  0x08: { reason: 'unsupported', message: 'the proxy does not support this address type' },
  0xf0: { reason: 'onion-not-found', message: 'onion service not found: the peer is offline or its address is not published yet' },
  0xf1: { reason: 'onion-descriptor-invalid', message: "the peer's onion service descriptor is invalid" },
  0xf2: { reason: 'onion-intro-failed', message: 'introduction failed: the peer is offline or unreachable' },
  0xf3: { reason: 'onion-rendezvous-failed', message: 'could not complete the rendezvous with the peer over Tor' },
  0xf4: { reason: 'onion-auth-missing', message: 'the onion service requires client authorization' },
  0xf5: { reason: 'onion-auth-wrong', message: 'the onion service rejected our client authorization' },
  0xf6: { reason: 'onion-bad-address', message: 'invalid onion address' },
  0xf7: { reason: 'onion-intro-timeout', message: 'introduction timed out: the peer is offline or unreachable' },
};

/** Reason and message for a non-zero SOCKS5 reply byte, including codes nobody defined. */
export function describeSocksReply(code: number): FailureText {
  return (
    SOCKS5_REPLIES[code] ?? {
      reason: 'unknown',
      message: `the proxy answered with unknown reply code 0x${code.toString(16).padStart(2, '0')}`,
    }
  );
}
