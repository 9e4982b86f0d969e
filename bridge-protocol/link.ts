// One authenticated TLS connection with one peer: handshake (accepting or dialing),
// fingerprint checks, lines of text both ways, and a close reason (PROTOCOL.md).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { TypedEmitter } from './events.js';
import {
  AbortError,
  FingerprintMismatchError,
  HandshakeError,
  LinkClosedError,
  TimeoutError,
} from './errors.js';
import { fingerprintOf } from './identity.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { GATEWAY_ALPN, type TlsContext } from './tls-context.js';
import { encodeMessage, LineDecoder, type DecodedMessage } from './wire/line-codec.js';

export type LinkSide = 'client' | 'server';

/** Why a link ended: stable words for programs. */
export type LinkCloseReason =
  /** We closed it (close()). */
  | 'local'
  /** The peer closed it (close_notify or FIN). */
  | 'remote'
  /** A socket or TLS error. */
  | 'error'
  /** Another link with the same peer took its place. */
  | 'replaced';

export interface LinkCloseInfo {
  reason: LinkCloseReason;
  error?: Error;
}

export interface LinkEvents {
  [event: string]: (...args: any[]) => void;
  message: (message: DecodedMessage) => void;
  close: (info: LinkCloseInfo) => void;
}

export interface LinkOptions {
  handshakeTimeoutMs?: number;
  signal?: AbortSignal;
  /** Longest message accepted before it is cut (bytes). */
  maxMessageBytes?: number;
  log?: Logger;
}

export interface DialLinkOptions extends LinkOptions {
  /** The fingerprint the peer must present; another one is a FingerprintMismatchError. */
  expectedFingerprint?: string;
  /** For messages: where we dialed. */
  address?: string;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 5_000;

export class Link extends TypedEmitter<LinkEvents> {
  private readonly decoder: LineDecoder;
  /** Messages waiting for the socket: written one at a time, so each is its own TLS record. */
  private readonly outgoing: PendingWrite[] = [];
  /** The message handed to the socket whose write has not completed yet. */
  private inFlight: PendingWrite | undefined;
  /** Called once nothing is queued or in flight (close() and the peer's end wait for it). */
  private onFlushed: (() => void) | undefined;
  private started = false;
  private closeInfo: LinkCloseInfo | undefined;
  private closing: LinkCloseReason | undefined;
  readonly closed: Promise<LinkCloseInfo>;
  private resolveClosed!: (info: LinkCloseInfo) => void;

  constructor(
    private readonly socket: TLSSocket,
    /** The peer's fingerprint. */
    readonly fingerprint: string,
    /** 'client': we dialed; 'server': the peer dialed us. */
    readonly side: LinkSide,
    /** Both ends are tlsim-gateways (ALPN agreed); a reference peer never is. */
    readonly gatewayPeer: boolean,
    readonly log: Logger,
    maxMessageBytes?: number,
    /** When the handshake completed (ms since the epoch). */
    readonly establishedAt: number = Date.now(),
  ) {
    super((err, event) => log.error({ err, event }, 'link listener failed'));
    this.decoder = new LineDecoder({ maxMessageBytes });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('error', (error) => this.finish({ reason: this.closing ?? 'error', error }));
    socket.on('close', () => this.finish({ reason: this.closing ?? 'remote' }));
    socket.on('end', () => {
      // The peer is done writing. Deliver a last unterminated line, then finish our half.
      for (const m of this.decoder.end()) this.emit('message', m);
      // No more sends: a write after our end() would turn a clean close into reason 'error'.
      if (this.closing === undefined) this.closing = 'remote';
      this.whenFlushed(() => {
        if (!socket.writableEnded) socket.end();
      });
    });
  }

  get isOpen(): boolean {
    return this.closeInfo === undefined && this.closing === undefined;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /**
   * Start reading. Until then the peer's data waits in the socket (TCP backpressure), so
   * the owner can attach listeners, or hold a new link back while an old one drains.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.socket.on('data', (chunk: Buffer) => {
      for (const m of this.decoder.push(chunk)) this.emit('message', m);
    });
  }

  /**
   * Resolves once the message is written to the TLS socket (handed to the kernel). Sends may be
   * issued without waiting for each other: they go out in order, ONE TLS record each, because a
   * reference receiver shows each record it reads as one message (PROTOCOL.md) and our decoder
   * groups the same way. (Several socket.write() calls while a TLS write is in progress would be
   * joined by the stream's writev into one record: one message "a\nb" instead of "a" and "b".) So
   * the next message is written in the previous one's write callback: no loop turn of ours
   * between messages beyond that callback.
   */
  send(text: string): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkClosedError(`link with ${short(this.fingerprint)} is closed`));
    const bytes = encodeMessage(text);
    if (!bytes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.outgoing.push({ bytes, resolve, reject });
      if (!this.inFlight) this.writeNext();
    });
  }

  private writeNext(): void {
    const w = this.outgoing.shift();
    this.inFlight = w;
    if (!w) {
      const flushed = this.onFlushed;
      this.onFlushed = undefined;
      flushed?.();
      return;
    }
    this.socket.write(w.bytes, (err) => {
      if (this.inFlight !== w) return; // already failed by finish()
      if (err) {
        this.failWrites(new LinkClosedError(`write to ${short(this.fingerprint)} failed: ${err.message}`, { cause: err }));
        return;
      }
      w.resolve();
      this.writeNext();
    });
  }

  /** The in-flight write and everything queued behind it fail (the link is gone). */
  private failWrites(err: Error): void {
    const failed = this.inFlight ? [this.inFlight, ...this.outgoing.splice(0)] : this.outgoing.splice(0);
    this.inFlight = undefined;
    for (const w of failed) w.reject(err);
    const flushed = this.onFlushed;
    this.onFlushed = undefined;
    flushed?.();
  }

  private whenFlushed(fn: () => void): void {
    if (!this.inFlight && this.outgoing.length === 0) return fn();
    const before = this.onFlushed;
    this.onFlushed = () => {
      before?.();
      fn();
    };
  }

  /**
   * Close with TLS close_notify after everything written so far is flushed, and keep
   * reading until the peer closes too (nothing in flight is lost); destroy after a grace period.
   */
  close(reason: LinkCloseReason = 'local'): Promise<LinkCloseInfo> {
    if (this.closeInfo) return this.closed;
    if (this.closing === undefined) {
      this.closing = reason;
      if (!this.started) this.start();
      // Node's TLS end() calls SSL_shutdown twice, and the second call consumes and DISCARDS
      // records already received but not yet read (e.g. the first message that came with the
      // handshake on a link never started). Let the stream read them first: one turn of the loop.
      // Sends issued before close() are written first (they are ours to deliver).
      setImmediate(() => this.whenFlushed(() => this.socket.end()));
      const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      void this.closed.then(() => clearTimeout(timer));
    }
    return this.closed;
  }

  /** Drop at once, without waiting for anything. */
  destroy(error?: Error): void {
    if (this.closing === undefined) this.closing = error ? 'error' : 'local';
    this.socket.destroy(error);
  }

  private finish(info: LinkCloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.failWrites(new LinkClosedError(`link with ${short(this.fingerprint)} closed before the write completed`));
    this.log.debug({ reason: info.reason, err: info.error?.message }, 'link closed');
    this.emit('close', info);
    this.resolveClosed(info);
  }
}

interface PendingWrite {
  bytes: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

function short(fp: string): string {
  return fp.slice(0, 12);
}

/** Waits for the TLS handshake, honouring a timeout and an abort signal. */
function handshake(socket: TLSSocket, event: 'secure' | 'secureConnect', opts: LinkOptions): Promise<void> {
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
function noDelay(raw: Duplex): void {
  (raw as Partial<Socket>).setNoDelay?.(true);
}

function peerFingerprint(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  return cert ? fingerprintOf(cert.raw) : undefined;
}

/**
 * Accept a link on an incoming connection: we require a client certificate, accept any,
 * and learn who the peer is from it.
 */
export async function acceptLink(raw: Duplex, tls: TlsContext, opts: LinkOptions = {}): Promise<Link> {
  noDelay(raw);
  const socket = new TLSSocket(raw, {
    isServer: true,
    secureContext: tls.secureContext,
    requestCert: true,
    rejectUnauthorized: false,
    // Select our id when a gateway offers it. A peer offering only other ids (a future
    // version, a generic TLS tool) gets its first choice echoed instead of a fatal
    // no_application_protocol alert, and the link stays plain lines.
    ALPNCallback: ({ protocols }) => (protocols.includes(GATEWAY_ALPN) ? GATEWAY_ALPN : protocols[0]),
  });
  // Errors before the handshake completes are reported by handshake(); keep Node quiet.
  socket.on('error', () => {});
  await handshake(socket, 'secure', opts);
  const fingerprint = peerFingerprint(socket);
  if (!fingerprint) {
    socket.destroy();
    throw new HandshakeError('the peer presented no client certificate (a tlsim peer must)');
  }
  if (fingerprint === tls.identity.fingerprint) {
    socket.destroy();
    throw new HandshakeError('the peer presented our own certificate (a loop back to ourselves)');
  }
  const log = (opts.log ?? silentLogger).child({ link: 'in', peer: short(fingerprint) });
  return new Link(socket, fingerprint, 'server', socket.alpnProtocol === GATEWAY_ALPN, log, opts.maxMessageBytes);
}

/**
 * Dial a link over an already connected stream (direct TCP or SOCKS). When the expected
 * fingerprint is known and another one answers, the link is dropped before any data flows.
 */
export async function dialLink(raw: Duplex, tls: TlsContext, opts: DialLinkOptions = {}): Promise<Link> {
  noDelay(raw);
  const socket = tlsConnect({
    socket: raw,
    secureContext: tls.secureContext,
    rejectUnauthorized: false,
    // No SNI: a tlsim peer is not a named host, and a .onion name must not leak.
    servername: '',
    ALPNProtocols: [GATEWAY_ALPN],
    checkServerIdentity: () => undefined,
  });
  socket.on('error', () => {});
  await handshake(socket, 'secureConnect', opts);
  const fingerprint = peerFingerprint(socket);
  if (!fingerprint) {
    socket.destroy();
    throw new HandshakeError('the peer presented no certificate');
  }
  if (opts.expectedFingerprint && fingerprint !== opts.expectedFingerprint.toLowerCase()) {
    socket.destroy();
    throw new FingerprintMismatchError(opts.expectedFingerprint.toLowerCase(), fingerprint, opts.address);
  }
  if (fingerprint === tls.identity.fingerprint) {
    socket.destroy();
    throw new HandshakeError('dialed ourselves: the peer presented our own certificate');
  }
  const log = (opts.log ?? silentLogger).child({ link: 'out', peer: short(fingerprint) });
  return new Link(socket, fingerprint, 'client', socket.alpnProtocol === GATEWAY_ALPN, log, opts.maxMessageBytes);
}
