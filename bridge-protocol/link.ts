// One authenticated TLS connection with one peer: handshake (accepting or dialing),
// fingerprint checks, lines of text both ways (typed frames with another gateway), and a close reason (PROTOCOL.md).
import type { Duplex } from 'node:stream';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { TypedEmitter } from './events.js';
import { FingerprintMismatchError, HandshakeError, LinkClosedError } from './errors.js';
import type { Logger } from './logger.js';
import { lazyChild, silentLogger } from './logger.js';
import { GATEWAY_ALPNS, type LinkProtocol, type TlsContext } from './tls-context.js';
import { handshake, noDelay, peerFingerprint, protocolOf } from './tls-handshake.js';
import { LinkWriter, plainEncoder, type UnfinishedSend } from './link-writer.js';
import { countLf, splitControl } from './wire/link-control.js';
import { DEFAULT_MAX_MESSAGE_BYTES, LineDecoder } from './wire/line-codec.js';
import { FrameDecoder, encodeFrame, type FrameRecord } from './wire/link-frames.js';
import { isRoomRecord } from './wire/room-frames.js';
import { teardownPacer, type TurnPacer } from './turn-pacer.js';
import type { DialLinkOptions, LinkCloseInfo, LinkCloseReason, LinkEvents, LinkOptions, LinkSide } from './link-types.js';

export type { DialLinkOptions, LinkCloseInfo, LinkCloseReason, LinkEvents, LinkMessage, LinkOptions, LinkProfile, LinkSide } from './link-types.js';
export type { LinkProtocol } from './tls-context.js';
export type { UnfinishedSend } from './link-writer.js';

const CLOSE_GRACE_MS = 5_000;

export class Link extends TypedEmitter<LinkEvents> {
  private readonly decoder: LineDecoder;
  /** gateway/3: what the peer sends is frames, not lines. */
  private readonly frameDecoder: FrameDecoder<FrameRecord> | undefined;
  private readonly writer: LinkWriter;
  /** The peer's END came (links with acks): it sends no more messages here. */
  private endRead = false;
  /** Our END answered the peer's: the peer ends the stream first (as with close_notify before), we follow. */
  private endAnswered = false;
  private started = false;
  private closeInfo: LinkCloseInfo | undefined;
  private closing: LinkCloseReason | undefined;
  /** Resolves once the socket itself has closed (after the 'close' event, which comes as soon as the link is down). */
  readonly closed: Promise<LinkCloseInfo>;
  private resolveClosed!: (info: LinkCloseInfo) => void;

  constructor(
    private readonly socket: TLSSocket,
    /** The peer's fingerprint. */
    readonly fingerprint: string,
    /** 'client': we dialed; 'server': the peer dialed us. */
    readonly side: LinkSide,
    /** Agreed by ALPN; a reference peer offers none, so it is always 'plain'. */
    readonly protocol: LinkProtocol,
    readonly log: Logger,
    maxMessageBytes?: number,
    /** When the handshake completed (ms since the epoch). */
    readonly establishedAt: number = Date.now(),
    private readonly pacer: TurnPacer = teardownPacer(),
  ) {
    super((err, event) => log.error({ err, event }, 'link listener failed'));
    this.decoder = new LineDecoder({ maxMessageBytes });
    const maxTextBytes = maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const room = protocol === 'room/1';
    if (this.frames) this.frameDecoder = new FrameDecoder<FrameRecord>({ maxTextBytes, kinds: room ? 'room' : 'link' });
    // Each kind of connection carries only its own records: a room frame never goes to a peer link, nor the reverse.
    const encode = this.frames ? (r: FrameRecord) => (isRoomRecord(r) === room ? encodeFrame(r, { maxTextBytes }) : undefined) : plainEncoder;
    this.writer = new LinkWriter(socket, this.acks, short(fingerprint), () => this.maybeEnd(), encode, this.frames);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    // The peer's FIN does not end our half by itself (Node would, in the same turn): the 'end' handler decides when.
    socket.allowHalfOpen = true;
    socket.on('error', (error) => this.finish({ reason: this.closing ?? 'error', error }));
    socket.on('close', () => {
      this.finish({ reason: this.closing ?? 'remote' });
      this.resolveClosed(this.closeInfo!);
    });
    socket.on('end', () => {
      // The peer is done writing. Deliver a last unterminated line (not a frame: a partial one was never
      // acknowledged, so its sender has it still), then finish our half.
      if (!this.frameDecoder) for (const m of this.decoder.end()) this.emit('message', m);
      // No more sends: a write after our end() would turn a clean close into reason 'error'.
      if (this.closing === undefined) this.closing = 'remote';
      // Nothing more can be read: once what we queued is written, the link is down now (its owner moves on), and
      // the socket's own end (close_notify, FIN, close callbacks) waits its turn in the pacer, so ~1 000 links
      // ending together do not end in one turn of the loop (bench/README.md, storms).
      this.writer.whenFlushed(() => {
        this.finish({ reason: this.closing ?? 'remote' });
        this.pacer.run(() => this.teardown());
      });
    });
  }

  /** Both ends are tlsim-gateways (ALPN agreed); a reference peer never is. */
  get gatewayPeer(): boolean {
    return this.protocol !== 'plain';
  }

  /**
   * The peer acknowledges what it reads, and the link ends only once both sides said they send no more
   * (wire/link-control.ts): a send resolves when the peer has read it, and is never lost in a close.
   */
  get acks(): boolean {
    return this.protocol === 'gateway/2' || this.protocol === 'gateway/3';
  }

  /** Typed frames both ways (wire/link-frames.ts): message ids, markers, chat states. */
  get frames(): boolean {
    return this.protocol === 'gateway/3' || this.protocol === 'room/1';
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
    this.socket.on('data', (chunk: Buffer) => (this.acks ? this.readWithAcks(chunk) : this.deliver(chunk)));
  }

  /**
   * Resolves once the message is written to the TLS socket or, on a link with acks, once the peer has read it
   * (LinkWriter.send). Rejects with LinkClosedError when the link is closing or ends first.
   */
  send(text: string): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkClosedError(`link with ${short(this.fingerprint)} is closed`));
    return this.writer.send(text);
  }

  /**
   * A message with an id and requests, a marker or a chat state. Resolves true once delivered (as send()), false
   * at once when this link cannot carry it: a marker or chat state is never written to a link without frames
   * (it must not become a line of text at a reference peer), and a message goes there as its text alone.
   */
  sendRecord(record: FrameRecord): Promise<boolean> {
    if (!this.isOpen) return Promise.reject(new LinkClosedError(`link with ${short(this.fingerprint)} is closed`));
    return this.writer.sendRecord(record);
  }

  /**
   * On a link with acks: `commit` runs right before we acknowledge what we read (the owner's durable write of
   * it). A throw cuts the link unacknowledged: the peer sends it again on the next link.
   */
  beforeAck(commit: () => void): void {
    this.writer.beforeAck = commit;
  }

  /**
   * On a link with acks, the messages not known to be delivered (written and not acknowledged, or not
   * written yet). A 'close' listener may take them to send them on another link; what is left after the
   * listeners is rejected. Empty on other links.
   */
  takeUnfinished(): UnfinishedSend[] {
    return this.writer.takeUnfinished();
  }

  private deliver(data: Buffer): void {
    if (!this.frameDecoder) {
      for (const m of this.decoder.push(data)) this.emit('message', m);
      return;
    }
    let records: FrameRecord[];
    try {
      records = this.frameDecoder.push(data);
    } catch (err) {
      // A broken frame (too large, not of the grammar) closes this link only, with the codec's error as reason.
      this.log.info({ err: (err as Error).message }, 'bad frame from the peer; closing the link');
      this.destroy(err as Error);
      return;
    }
    for (const r of records) {
      if (isRoomRecord(r)) this.emit('room', r);
      else if (r.type === 'message') {
        const { text, id, receipt, markable } = r;
        this.emit('message', { text, truncated: r.truncated === true, ...(id !== undefined && { id }), ...(receipt && { receipt }), ...(markable && { markable }) });
      } else if (r.type === 'marker') this.emit('marker', r.marker, r.id);
      else if (r.type === 'state') this.emit('chat-state', r.state);
      else if (r.type === 'profile-request') this.emit('profile-request');
      else if (r.type === 'profile') this.emit('profile', r.turtle !== undefined ? { turtle: r.turtle } : { none: r.none });
      else this.emit('file', r);
    }
  }

  private readWithAcks(chunk: Buffer): void {
    const { data, acks, end } = splitControl(chunk);
    if (data.length > 0) {
      this.deliver(data);
      if (this.closeInfo || this.socket.destroyed) return;
      // Acknowledged once delivered to our owner.
      this.writer.owe(countLf(data));
    }
    if (acks > 0) this.writer.acknowledged(acks);
    if (end && !this.endRead) {
      this.endRead = true;
      // The peer is retiring this link: no more sends here; our END answers after what is queued.
      if (this.closing === undefined) this.closing = 'remote';
      this.endAnswered = !this.writer.endQueued;
      this.writer.end();
    }
    this.maybeEnd();
  }

  /**
   * A link with acks ends (close_notify, FIN) only when neither side has anything more to say: both sent END,
   * and all we wrote and read is acknowledged. Over Tor a FIN ends both directions at once, so nothing may be
   * on its way by then. The side whose END came first ends the stream (both, when both came at once); the
   * other follows on its FIN, as it did on close_notify.
   */
  private maybeEnd(): void {
    if (!this.acks || this.endAnswered || !this.writer.endSent || !this.endRead || !this.writer.settled) return;
    if (this.closeInfo || this.socket.writableEnded) return;
    this.socket.end();
  }

  /**
   * Close after everything written so far is flushed, and keep reading until the peer closes too (nothing in
   * flight is lost); destroy after a grace period. On a link with acks: END after what is queued, then
   * close_notify and FIN once the peer's END came and everything is acknowledged; otherwise close_notify now.
   */
  close(reason: LinkCloseReason = 'local'): Promise<LinkCloseInfo> {
    if (this.closeInfo) return this.closed;
    if (this.closing === undefined) {
      this.closing = reason;
      if (!this.started) this.start();
      if (this.acks) this.writer.end();
      // Node's TLS end() calls SSL_shutdown twice, and the second call consumes and DISCARDS
      // records already received but not yet read (e.g. the first message that came with the
      // handshake on a link never started). Let the stream read them first: one turn of the loop.
      // Sends issued before close() are written first (they are ours to deliver). The pacer never runs a job in
      // the turn that queued it, and many links closed together end a few per turn.
      else this.pacer.run(() => this.writer.whenFlushed(() => this.endSocket()));
      this.destroyAfterGrace();
    }
    return this.closed;
  }

  /** Drop at once, without waiting for anything. */
  destroy(error?: Error): void {
    if (this.closing === undefined) this.closing = error ? 'error' : 'local';
    this.socket.destroy(error);
  }

  private endSocket(): void {
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end();
  }

  /**
   * After the peer's FIN, from the pacer: end our half, and destroy the socket if that does not close it in the
   * grace period (a peer that no longer reads). The link was down before this: nothing is read or written here.
   */
  private teardown(): void {
    if (this.socket.destroyed) return;
    this.endSocket();
    this.destroyAfterGrace();
  }

  /** A socket that has not closed CLOSE_GRACE_MS from now (a peer that no longer reads) is destroyed. */
  private destroyAfterGrace(): void {
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    void this.closed.then(() => clearTimeout(timer));
  }

  private finish(info: LinkCloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.log.debug({ reason: info.reason, err: info.error?.message }, 'link closed');
    // Listeners first: they may take the unfinished sends to another link.
    this.emit('close', info);
    this.writer.failAll(() => new LinkClosedError(`link with ${short(this.fingerprint)} closed before the message was delivered`));
  }
}

function short(fp: string): string {
  return fp.slice(0, 12);
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
    ALPNCallback: ({ protocols }) => (opts.gatewayAlpns ?? GATEWAY_ALPNS).find((p) => protocols.includes(p)) ?? protocols[0],
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
  const log = lazyChild(opts.log ?? silentLogger, { link: 'in', peer: short(fingerprint) });
  return new Link(socket, fingerprint, 'server', protocolOf(socket, opts.gatewayAlpns), log, opts.maxMessageBytes, Date.now(), opts.pacer);
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
    ALPNProtocols: [...(opts.gatewayAlpns ?? GATEWAY_ALPNS)],
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
  const log = lazyChild(opts.log ?? silentLogger, { link: 'out', peer: short(fingerprint) });
  return new Link(socket, fingerprint, 'client', protocolOf(socket, opts.gatewayAlpns), log, opts.maxMessageBytes, Date.now(), opts.pacer);
}
