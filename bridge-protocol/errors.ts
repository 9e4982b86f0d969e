// Protocol errors with stable codes: callers switch on `code`, users read `message`.

export type ProtocolErrorCode =
  | 'HANDSHAKE'
  | 'FINGERPRINT_MISMATCH'
  | 'PEER_UNREACHABLE'
  | 'FRAME_TOO_LARGE'
  | 'MALFORMED_FRAME'
  | 'TIMEOUT'
  | 'LINK_CLOSED'
  | 'IDENTITY'
  | 'ABORTED';

export abstract class ProtocolError extends Error {
  abstract readonly code: ProtocolErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The TLS handshake failed or the peer did not present what a tlsim peer must. */
export class HandshakeError extends ProtocolError {
  readonly code = 'HANDSHAKE' as const;
}

/** We dialed a known peer and another identity answered. The link is dropped before any data. */
export class FingerprintMismatchError extends ProtocolError {
  readonly code = 'FINGERPRINT_MISMATCH' as const;
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly address?: string,
  ) {
    super(
      `peer at ${address ?? 'this address'} presented fingerprint ${actual}, ` +
        `but ${expected} was expected (wrong address, or someone else answering)`,
    );
  }
}

/**
 * Why a peer could not be reached. `reason` is stable for programs; the message is
 * for people. SOCKS replies (including Tor's extended 0xF0-0xF7) keep their byte in `socksReply`.
 */
export type UnreachableReason =
  | 'connection-refused'
  | 'host-unreachable'
  | 'network-unreachable'
  | 'host-not-found'
  | 'connection-reset'
  | 'proxy-failed'
  | 'proxy-refused'
  | 'ttl-expired'
  | 'not-allowed'
  | 'unsupported'
  | 'onion-not-found'
  | 'onion-descriptor-invalid'
  | 'onion-intro-failed'
  | 'onion-rendezvous-failed'
  | 'onion-auth-missing'
  | 'onion-auth-wrong'
  | 'onion-bad-address'
  | 'onion-intro-timeout'
  | 'general-failure'
  | 'self'
  | 'rejected'
  | 'unknown';

export class PeerUnreachableError extends ProtocolError {
  readonly code = 'PEER_UNREACHABLE' as const;
  constructor(
    message: string,
    readonly reason: UnreachableReason,
    options?: { cause?: unknown; socksReply?: number },
  ) {
    super(message, options);
    this.socksReply = options?.socksReply;
  }
  readonly socksReply: number | undefined;
}

export class FrameTooLargeError extends ProtocolError {
  readonly code = 'FRAME_TOO_LARGE' as const;
  constructor(
    readonly limit: number,
    readonly size: number,
  ) {
    super(`message of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** A gateway link frame (wire/link-frames.ts) that is not of the grammar: the link that sent it is closed. */
export class MalformedFrameError extends ProtocolError {
  readonly code = 'MALFORMED_FRAME' as const;
}

export class TimeoutError extends ProtocolError {
  readonly code = 'TIMEOUT' as const;
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms} ms`);
  }
}

/** The link is gone; `reason` says why in a word a program can switch on. */
export class LinkClosedError extends ProtocolError {
  readonly code = 'LINK_CLOSED' as const;
}

export class IdentityError extends ProtocolError {
  readonly code = 'IDENTITY' as const;
}

export class AbortError extends ProtocolError {
  readonly code = 'ABORTED' as const;
  constructor(what = 'operation') {
    super(`${what} was aborted`);
  }
}
