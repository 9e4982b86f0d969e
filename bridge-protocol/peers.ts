// The peer manager: listeners, dials, one live link per fingerprint, reconnection with backoff, one event stream for the gateway.
import { PeerUnreachableError } from './errors.js';
import { TypedEmitter } from './events.js';
import type { Link, LinkSide } from './link.js';
import { silentLogger, type Logger } from './logger.js';
import { Backoff } from './peers/backoff.js';
import { dialPeer, type PeerAddress } from './peers/dial.js';
import { InboundListeners } from './peers/listener.js';
import { newPeerEntry, type PeerEntry, type PeerEntryHost } from './peers/peer-entry.js';
import { SettleDeadlines } from './peers/settle-deadlines.js';
import type { PeerManagerEvents, PeerManagerOptions } from './peers/types.js';
import type { LinkChatState, LinkMarker, LinkRecord, MessageRecord } from './wire/link-frames.js';

export type { PeerAddress } from './peers/dial.js';
export { keepNewLink } from './peers/peer-links.js';
export type { LinkUpInfo, PeerManagerEvents, PeerManagerOptions } from './peers/types.js';

/** A message to send with what a gateway/3 link carries beside its text (other links carry the text alone). */
export type OutgoingMessage = Omit<MessageRecord, 'type' | 'truncated'>;

const STOP_GRACE_MS = 6_000;

export class PeerManager extends TypedEmitter<PeerManagerEvents> {
  private readonly log: Logger;
  private readonly peers = new Map<string, PeerEntry>();
  private readonly inbound: InboundListeners;
  private readonly handshakeTimeoutMs: number;
  private readonly dialTimeoutMs: number;
  private readonly switchTimeoutMs: number;
  private readonly flapWindowMs: number;
  /** One timer for every peer waiting for a replacement link (settleMs each). */
  private readonly settles: SettleDeadlines;
  private readonly entryHost: PeerEntryHost;
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(private readonly opts: PeerManagerOptions) {
    const log = opts.log ?? silentLogger;
    super((err, event) => log.error({ err, event }, 'peer manager listener failed'));
    this.log = log;
    this.handshakeTimeoutMs = positive(opts.handshakeTimeoutMs ?? 30_000, 'handshakeTimeoutMs');
    this.dialTimeoutMs = positive(opts.dialTimeoutMs ?? 30_000, 'dialTimeoutMs');
    this.switchTimeoutMs = positive(opts.switchTimeoutMs ?? 5_000, 'switchTimeoutMs');
    this.flapWindowMs = opts.backoff?.flapWindowMs ?? 5_000;
    new Backoff(opts.backoff); // validate now, not at the first failure
    this.settles = new SettleDeadlines({ delayMs: Math.min(this.handshakeTimeoutMs, 5_000) });
    this.entryHost = {
      self: opts.tls.identity.fingerprint,
      log,
      backoff: opts.backoff,
      switchTimeoutMs: this.switchTimeoutMs,
      // No simultaneous dial completes later than a dial plus its handshake after the other.
      staleAfterMs: this.dialTimeoutMs + this.handshakeTimeoutMs,
      settles: this.settles,
      emit: (event, ...args) => this.emit(event, ...args),
      beforeAck: opts.beforeAck,
      up: (e, link) => this.onUp(e, link),
      down: (e, info) => this.onDown(e, info),
      idle: (e) => this.forgetIfIdle(e),
      replacementPending: (e) => e.dial !== undefined || this.inbound.pendingHandshakes > 0,
    };
    this.inbound = new InboundListeners({
      tls: opts.tls,
      log,
      maxPendingHandshakes: positive(opts.maxPendingHandshakes ?? 1024, 'maxPendingHandshakes'),
      maxConcurrentHandshakes: positive(opts.maxConcurrentHandshakes ?? 8, 'maxConcurrentHandshakes'),
      firstByteTimeoutMs: positive(opts.firstByteTimeoutMs ?? 5_000, 'firstByteTimeoutMs'),
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      maxMessageBytes: opts.maxMessageBytes,
      gatewayAlpns: opts.gatewayAlpns,
      onLink: (link) => this.onInbound(link),
      onRejected: (info) => this.emit('inbound-rejected', info),
    });
  }

  /** Listeners up; then known peers with an address are dialed. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`peer manager already ${this.state}`);
    try {
      await this.inbound.listen(this.opts.listen ?? []);
    } catch (err) {
      this.inbound.close();
      throw err;
    }
    this.state = 'started';
    for (const e of this.peers.values()) this.dial(e);
  }

  /** Listeners closed, timers cleared, every link closed with close_notify (bounded wait). */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.inbound.close();
    const closing: Promise<void>[] = [];
    for (const e of this.peers.values()) {
      this.cancelDial(e);
      closing.push(e.links.closeAll());
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closing),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS))),
    ]);
    clearTimeout(timer);
    for (const e of this.peers.values()) e.links.destroyAll();
    this.peers.clear();
    this.settles.clear();
  }

  /** Where we actually listen (real ports when 0 was asked). */
  addresses(): PeerAddress[] {
    return this.inbound.addresses();
  }

  /**
   * A known peer to keep connected (redialed with backoff while offline). `undefined` address:
   * known, but we cannot dial it (it dials us). Also lifts a disconnect()'s "no redial".
   */
  setPeer(fingerprint: string, address: PeerAddress | undefined): void {
    const e = this.entry(fingerprint);
    e.known = true;
    e.address = address ? { host: address.host, port: address.port } : undefined;
    e.noRedial = false;
    if (!e.address) this.clearRetry(e);
    else if (!e.retryTimer) this.dial(e);
  }

  /** Forget a peer: no more redials, its links are closed (link-down if it was online). */
  removePeer(fingerprint: string): void {
    const e = this.get(fingerprint);
    if (!e) return;
    e.known = false;
    e.address = undefined;
    this.cancelDial(e);
    void e.links.closeAll().then(() => this.forgetIfIdle(e));
  }

  /** Dial now (a message is waiting), unless a link is up or a dial is in flight; resets the backoff. */
  connect(fingerprint: string): void {
    const e = this.get(fingerprint);
    if (!e) return;
    e.noRedial = false;
    if (e.links.hasLink || e.dial) return;
    e.backoff.reset();
    this.clearRetry(e);
    this.dial(e);
  }

  /** True between the peer's 'link-up' and 'link-down'. */
  isOnline(fingerprint: string): boolean {
    return this.get(fingerprint)?.links.online ?? false;
  }

  onlinePeers(): string[] {
    return [...this.peers.values()].filter((e) => e.links.online).map((e) => e.fingerprint);
  }

  /** For diagnostics and tests: the active link's side and how many links are open. */
  linkInfo(fingerprint: string): { side: LinkSide; gatewayPeer: boolean; openLinks: number } | undefined {
    const e = this.get(fingerprint);
    const link = e?.links.active;
    return e && link ? { side: link.side, gatewayPeer: link.gatewayPeer, openLinks: e.links.linkCount } : undefined;
  }

  /**
   * Resolves when the peer has read the message (a gateway: it acknowledges) or, for a reference peer, when
   * it is written to the TLS socket of the current link (during a link switch, once the old link has ended).
   * A gateway link that ends with messages not acknowledged sends them again, first, on the next link.
   * Rejects with PeerUnreachableError (reason 'unknown') when there is no link: the gateway keeps its own
   * persistent queue and calls connect().
   */
  send(fingerprint: string, text: string): Promise<void> {
    return this.sendFrame(fingerprint, { type: 'message', text }).then(() => undefined);
  }

  /**
   * As send(), with the message's id and requests on a gateway/3 link (what markers about it name); on any
   * other link only its text goes, exactly as send() writes it.
   */
  sendMessage(fingerprint: string, message: OutgoingMessage): Promise<void> {
    return this.sendFrame(fingerprint, { type: 'message', ...message }).then(() => undefined);
  }

  /**
   * Tells the peer's gateway that our user's client got (or displayed) its message `id`, in order with our
   * messages and acknowledged like them (sent again on the next link if the link ends first). Resolves true once
   * acknowledged, false when the link cannot carry it (a reference peer, a gateway before version 3): dropped,
   * never written. Rejects with PeerUnreachableError when there is no link: the caller may keep it for later.
   */
  sendMarker(fingerprint: string, marker: LinkMarker, id: string): Promise<boolean> {
    return this.sendFrame(fingerprint, { type: 'marker', marker, id });
  }

  /**
   * Any record to the peer's current link, in turn (messages go ahead of file chunks): a message, a marker, a file
   * frame (wire/file-frames.ts) or the FOAF profile exchange. Resolves false when the link cannot carry it (a frame
   * to a reference peer, which is never written to); rejects with PeerUnreachableError when there is no link.
   */
  sendFrame(fingerprint: string, record: LinkRecord): Promise<boolean> {
    const e = this.get(fingerprint);
    if (!e) return Promise.reject(new PeerUnreachableError(`peer ${fingerprint.slice(0, 12)} is not connected`, 'unknown'));
    return e.links.sendRecord(record);
  }

  /**
   * A chat state to the peer now, on a gateway/3 link that is up; otherwise dropped (never queued, never stored,
   * never a line of text). True when written; not acknowledged, not sent again.
   */
  sendChatState(fingerprint: string, state: LinkChatState): boolean {
    return this.get(fingerprint)?.links.sendChatState(state) ?? false;
  }

  /**
   * Close the peer's links now (e.g. on block). A known peer is NOT redialed until connect() or
   * setPeer() is called again; an inbound link is still accepted unless authorize() rejects it.
   */
  async disconnect(fingerprint: string): Promise<void> {
    const e = this.get(fingerprint);
    if (!e) return;
    e.noRedial = true;
    this.cancelDial(e);
    await e.links.closeAll();
    this.forgetIfIdle(e);
  }

  private get(fingerprint: string): PeerEntry | undefined {
    return this.peers.get(fingerprint.toLowerCase());
  }

  private entry(fingerprint: string): PeerEntry {
    const fp = fingerprint.toLowerCase();
    let e = this.peers.get(fp);
    if (e) return e;
    e = newPeerEntry(fp, this.entryHost);
    this.peers.set(fp, e);
    return e;
  }

  private onInbound(link: Link): void {
    if (this.state !== 'started') return link.destroy();
    if (!this.admit(link)) {
      this.emit('inbound-rejected', { fingerprint: link.fingerprint, reason: 'not authorized' });
      return;
    }
    const e = this.entry(link.fingerprint);
    // The peer is reachable after all: whatever we were waiting for to redial is moot.
    this.clearRetry(e);
    e.backoff.reset();
    e.links.add(link);
  }

  /** authorize() before any application data: a rejected link is destroyed unstarted. */
  private admit(link: Link): boolean {
    let verdict: 'accept' | 'reject' = 'accept';
    try {
      verdict = this.opts.authorize?.(link.fingerprint, link.side) ?? 'accept';
    } catch (err) {
      this.log.error({ err }, 'authorize failed; rejecting');
      verdict = 'reject';
    }
    if (verdict === 'accept') return true;
    link.destroy();
    return false;
  }

  /** Dial a known peer with an address, unless online, already dialing, or told not to. */
  private dial(e: PeerEntry): void {
    if (this.state !== 'started' || !e.known || !e.address || e.noRedial || e.dial || e.links.hasLink) return;
    this.clearRetry(e);
    const address = e.address;
    const ac = new AbortController();
    e.dial = ac;
    dialPeer({
      fingerprint: e.fingerprint,
      address,
      dialer: this.opts.dialerFor(address),
      tls: this.opts.tls,
      dialTimeoutMs: this.dialTimeoutMs,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      maxMessageBytes: this.opts.maxMessageBytes,
      gatewayAlpns: this.opts.gatewayAlpns,
      signal: ac.signal,
      log: this.log,
    }).then(
      (link) => {
        if (e.dial === ac) e.dial = undefined;
        if (ac.signal.aborted || this.state !== 'started') return link.destroy();
        if (!this.admit(link)) {
          e.noRedial = true;
          const error = new PeerUnreachableError(`peer ${e.fingerprint.slice(0, 12)} is not authorized`, 'rejected');
          this.emit('dial-failed', { fingerprint: e.fingerprint, address, error });
          e.links.settleCheck();
          return;
        }
        e.links.add(link);
      },
      (error: Error) => {
        if (e.dial === ac) e.dial = undefined;
        if (ac.signal.aborted) return; // stop(), disconnect() or removePeer(): not a failure
        // A link we were waiting for was this dial: the peer is offline now (which arms a redial).
        e.links.settleCheck();
        const retryInMs = e.retryTimer ? e.retryInMs : this.scheduleRetry(e);
        this.log.debug({ err: error.message, retryInMs }, 'dial failed');
        this.emit('dial-failed', { fingerprint: e.fingerprint, address, error, retryInMs });
      },
    );
  }

  /** Arms the next redial; returns its delay, or undefined when the peer is not to be redialed. */
  private scheduleRetry(e: PeerEntry): number | undefined {
    if (this.state !== 'started' || !e.known || !e.address || e.noRedial || e.links.hasLink) return undefined;
    this.clearRetry(e);
    const delay = e.backoff.next();
    e.retryInMs = delay;
    e.retryTimer = setTimeout(() => {
      e.retryTimer = undefined;
      this.dial(e);
    }, delay);
    // Listeners keep a daemon alive; a pending redial alone should not.
    e.retryTimer.unref();
    return delay;
  }

  private onUp(e: PeerEntry, link: Link): void {
    this.clearRetry(e);
    e.upAt = Date.now();
    e.attemptBeforeUp = e.backoff.attempt;
    e.backoff.reset();
    this.log.info({ peer: e.fingerprint.slice(0, 12), side: link.side, gateway: link.gatewayPeer }, 'peer online');
    this.emit('link-up', {
      fingerprint: e.fingerprint,
      side: link.side,
      gatewayPeer: link.gatewayPeer,
      protocol: link.protocol,
      remoteAddress: link.remoteAddress,
    });
  }

  private onDown(e: PeerEntry, info: { reason: string; error?: Error }): void {
    // A link cut right after coming up (the peer blocks us, say) must not make us redial every second.
    if (Date.now() - e.upAt < this.flapWindowMs) e.backoff.attempt = e.attemptBeforeUp + 1;
    this.log.info({ peer: e.fingerprint.slice(0, 12), reason: info.reason }, 'peer offline');
    this.emit('link-down', { fingerprint: e.fingerprint, reason: info.reason, error: info.error });
    // A dial that failed while this down waited for its turn has armed the redial already.
    if (!e.retryTimer) this.scheduleRetry(e);
    this.forgetIfIdle(e);
  }

  private forgetIfIdle(e: PeerEntry): void {
    // Not while its down waits for its turn: a new entry's up would come before that down.
    if (!e.known && !e.links.online && !e.links.hasLink && e.links.linkCount === 0 && !e.dial && this.peers.get(e.fingerprint) === e) {
      this.peers.delete(e.fingerprint);
    }
  }

  private cancelDial(e: PeerEntry): void {
    this.clearRetry(e);
    e.dial?.abort();
    e.dial = undefined;
  }

  private clearRetry(e: PeerEntry): void {
    if (e.retryTimer) clearTimeout(e.retryTimer);
    e.retryTimer = undefined;
  }
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number, got ${n}`);
  return n;
}
