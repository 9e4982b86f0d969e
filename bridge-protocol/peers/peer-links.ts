// The links of ONE peer: exactly one live link (the active one), the deterministic tie-break
// between duplicates, and a switch from an old link to a new one that loses, doubles and
// reorders nothing (PROTOCOL.md "Presence and connections"), whatever the transport does at
// close: what a gateway did not acknowledge on a link that ended goes again on the next one.
import { PeerUnreachableError } from '../errors.js';
import type { Link, LinkCloseInfo, LinkMessage, LinkProfile } from '../link.js';
import type { Logger } from '../logger.js';
import { teardownPacer, type TurnPacer } from '../turn-pacer.js';
import type { LinkChatState, LinkMarker, LinkRecord } from '../wire/link-frames.js';
import type { FileRecord } from '../wire/file-frames.js';
import type { SettleDeadlines } from './settle-deadlines.js';

export interface PeerLinksHooks {
  /** The peer came online (its first link); not called again when a link replaces another. */
  up(link: Link): void;
  /**
   * The peer has no link left. Once per up, in order with it; when its link ended, from the pacer (a later turn),
   * so a thousand links ending together do not take a thousand downs in one turn.
   */
  down(info: LinkCloseInfo): void;
  message(message: LinkMessage): void;
  /** gateway/3 links only. */
  marker?(marker: LinkMarker, id: string): void;
  chatState?(state: LinkChatState): void;
  /** Right before a link acknowledges what it delivered: the owner commits it; a throw cuts the link unacknowledged. */
  beforeAck?(): void;
  /** gateway/3 links only: the FOAF profile exchange (issue 13). */
  profileRequest?(): void;
  profile?(answer: LinkProfile): void;
  /** gateway/3 links only: a file offer, reply or chunk. */
  file?(record: FileRecord): void;
  /**
   * The active gateway link ended: may another link for this peer still be on its way (a
   * dial in flight, inbound handshakes pending)? Then we wait a moment before going offline.
   */
  replacementPending(): boolean;
  /** No link left at all (also none draining). */
  idle(): void;
}

export interface PeerLinksOptions {
  /** Our own fingerprint: the tie-break compares dialers. */
  self: string;
  fingerprint: string;
  log: Logger;
  /** How long a retired link may take to end (default 5 s); then it is destroyed. */
  switchTimeoutMs: number;
  /** Where a peer waits for a pending replacement before going offline (one timer for all of a manager's peers). */
  settles: SettleDeadlines;
  /** Where the peer's down waits its turn (default the process's: teardownPacer()). */
  pacer?: TurnPacer;
  /** An inbound link replaces a current one older than this (see keepNewLink). */
  staleAfterMs?: number;
}

interface QueuedSend {
  record: LinkRecord;
  resolve: (delivered?: boolean) => void;
  reject: (err: Error) => void;
}

/** Sends waiting for a switch; beyond this many, send() fails at once. */
const MAX_QUEUED_SENDS = 10_000;
/** Messages of the new link held while the old one drains; beyond this, order gives way. */
const MAX_HELD_BYTES = 1024 * 1024;
/** What one held entry counts for beyond its text. */
const HELD_ENTRY_BYTES = 64;

/**
 * Which of two links with the same gateway peer survives, computed the same way on both ends:
 * the link DIALED by the smaller fingerprint. Two links dialed by the same side (it redialed
 * because it believes the old one dead): the newer one.
 *
 * A peer dials only when it has no link with us (our gateways never dial an online peer; the
 * reference holds a per-peer lock), so a peer's dial arriving after our link has been up
 * longer than any simultaneous dial could take (`staleAfterMs`) means that link is dead for
 * the peer, e.g. a Tor circuit that died without closing our stream: the new link wins.
 */
export function keepNewLink(self: string, current: Link, next: Link, staleAfterMs = Infinity, now = Date.now()): boolean {
  if (next.side === 'server' && now - current.establishedAt > staleAfterMs) return true;
  if (!current.gatewayPeer || !next.gatewayPeer) return false; // a reference peer: keep the first
  const dialer = (l: Link): string => (l.side === 'client' ? self : l.fingerprint);
  const a = dialer(current);
  const b = dialer(next);
  return a === b ? true : b < a;
}

export class PeerLinks {
  /** The link we send on and read from; held back (not started) while retired links drain. */
  active: Link | undefined;
  /** Retired links: closed with close_notify, still read until EOF. */
  private readonly draining = new Map<Link, NodeJS.Timeout>();
  /** Links we have written on: after a switch away from one, sends wait until it has ended. */
  private readonly written = new WeakSet<Link>();
  private queue: QueuedSend[] = [];
  /** What a started active link delivered while older links drained (messages, markers, states, in order). */
  private held: Array<() => void> = [];
  private heldBytes = 0;
  private closingAll = false;
  /** The down waiting for its turn in the pacer (its link ended; no link left). */
  private downPending: LinkCloseInfo | undefined;
  private readonly pacer: TurnPacer;
  /** Between 'up' and 'down' (also while settling, and until the down's turn: the gateway sees no flicker). */
  online = false;

  constructor(
    private readonly opts: PeerLinksOptions,
    private readonly hooks: PeerLinksHooks,
  ) {
    this.pacer = opts.pacer ?? teardownPacer();
  }

  get hasLink(): boolean {
    return this.active !== undefined || this.settling;
  }

  /** Waiting for a replacement link before going offline. */
  private get settling(): boolean {
    return this.opts.settles.has(this);
  }

  get linkCount(): number {
    return (this.active ? 1 : 0) + this.draining.size;
  }

  /** A new authenticated link for this peer: it becomes active, or it is retired at once. */
  add(link: Link): void {
    link.on('message', (m) => this.onInbound(link, () => this.hooks.message(m), Buffer.byteLength(m.text)));
    link.on('marker', (marker, id) => this.onInbound(link, () => this.hooks.marker?.(marker, id), id.length));
    link.on('chat-state', (state) => this.onInbound(link, () => this.hooks.chatState?.(state), 0));
    link.on('profile-request', () => this.onInbound(link, () => this.hooks.profileRequest?.(), 0));
    link.on('profile', (answer) => this.onInbound(link, () => this.hooks.profile?.(answer), answer.turtle?.length ?? 0));
    link.on('file', (r) => this.onInbound(link, () => this.hooks.file?.(r), r.type === 'file-chunk' ? r.data.length : 0));
    link.on('close', (info) => this.onClose(link, info));
    link.beforeAck(() => this.hooks.beforeAck?.());
    const current = this.active;
    if (!current) {
      this.active = link;
      this.clearSettle();
      this.closingAll = false;
      // A down still waiting for its turn goes first: down, then up, as if it had come at once (the new link is
      // already ours, so the owner neither forgets the peer nor arms a redial meanwhile).
      this.deliverDown();
      if (!this.online) {
        this.online = true;
        this.hooks.up(link);
      }
      this.release();
      return;
    }
    if (keepNewLink(this.opts.self, current, link, this.opts.staleAfterMs)) {
      this.opts.log.debug({ side: link.side, gateway: link.gatewayPeer }, 'new link replaces the current one');
      this.active = link;
      this.retire(current);
      // The new link stays unstarted until the old one has ended: its data waits in the socket.
    } else {
      this.opts.log.debug({ side: link.side, gateway: link.gatewayPeer }, 'duplicate link closed, keeping the current one');
      this.retire(link);
    }
  }

  send(text: string): Promise<void> {
    return this.sendRecord({ type: 'message', text }).then(() => undefined);
  }

  /**
   * A message or marker, in order with the others, across a link switch as send(). Resolves true once delivered,
   * false when the link it went to cannot carry it (a marker to a peer without frames: dropped).
   */
  sendRecord(record: LinkRecord): Promise<boolean> {
    if (this.queue.length > 0 || this.mustQueue()) {
      if (this.queue.length >= MAX_QUEUED_SENDS) {
        return Promise.reject(new PeerUnreachableError(`${this.short} is switching links; too many messages waiting`, 'unknown'));
      }
      return new Promise((resolve, reject) => this.queue.push({ record, resolve: (d = true) => resolve(d), reject }));
    }
    const link = this.active;
    if (link?.isOpen) {
      this.written.add(link);
      return link.sendRecord(record);
    }
    if (link?.gatewayPeer && this.hooks.replacementPending()) {
      // The link is ending (the peer closed it) and another may be on its way: wait for it.
      return new Promise((resolve, reject) => this.queue.push({ record, resolve: (d = true) => resolve(d), reject }));
    }
    return Promise.reject(new PeerUnreachableError(`${this.short} is not connected`, 'unknown'));
  }

  /**
   * A chat state on the active link now, if it has frames and nothing waits for a switch; else dropped (a state
   * is of the moment: never queued, never a line of text). True when written.
   */
  sendChatState(state: LinkChatState): boolean {
    const link = this.active;
    if (!link?.isOpen || !link.frames || this.queue.length > 0 || this.mustQueue()) return false;
    link.sendRecord({ type: 'state', state }).catch(() => undefined);
    return true;
  }

  /**
   * Close every link with close_notify; the peer goes offline now. The links stay tracked as
   * draining, so a link that comes up meanwhile is held until they have ended (order holds).
   * Resolves when all have ended.
   */
  closeAll(): Promise<void> {
    this.closingAll = true;
    this.clearSettle();
    if (this.active) {
      this.retire(this.active, 'local');
      this.active = undefined;
    }
    this.deliverHeld();
    // Offline now, as the caller asked: a down waiting for its turn is delivered here, with its own reason.
    this.deliverDown();
    this.goOffline({ reason: 'local' }, false);
    return Promise.all([...this.draining.keys()].map((l) => l.closed)).then(() => undefined);
  }

  /** Destroy what is left (after stop's bounded wait). */
  destroyAll(): void {
    for (const l of this.draining.keys()) l.destroy();
    this.active?.destroy();
  }

  /**
   * The replacement we waited for will not come (its dial failed): stop settling, offline now (one peer's dial,
   * not a burst: the owner learns it in order with the failure).
   */
  settleCheck(): void {
    if (this.settling && !this.hooks.replacementPending()) this.endSettle(undefined, false);
  }

  private get short(): string {
    return `peer ${this.opts.fingerprint.slice(0, 12)}`;
  }

  /** Sends wait while a link we wrote on drains (or while settling), so order holds across links. */
  private mustQueue(): boolean {
    if (this.settling) return true;
    if (!this.active) return false;
    for (const l of this.draining.keys()) if (this.written.has(l)) return true;
    return false;
  }

  private retire(link: Link, reason: 'replaced' | 'local' = 'replaced'): void {
    if (!this.draining.has(link)) {
      const timer = setTimeout(() => link.destroy(), this.opts.switchTimeoutMs);
      timer.unref();
      this.draining.set(link, timer);
    }
    // close() starts reading if needed: whatever the peer sent on it is still delivered.
    void link.close(reason);
  }

  private onInbound(link: Link, deliver: () => void, bytes: number): void {
    if (link === this.active && this.draining.size > 0 && this.heldBytes < MAX_HELD_BYTES) {
      this.held.push(deliver);
      // Each entry costs something, so a flood of small chat states is bounded too.
      this.heldBytes += bytes + HELD_ENTRY_BYTES;
      return;
    }
    deliver();
  }

  private deliverHeld(): void {
    for (const deliver of this.held.splice(0)) deliver();
    this.heldBytes = 0;
  }

  private onClose(link: Link, info: LinkCloseInfo): void {
    this.resendUnfinished(link);
    const timer = this.draining.get(link);
    if (timer) {
      clearTimeout(timer);
      this.draining.delete(link);
      if (this.draining.size === 0) this.release();
      if (!this.active && this.draining.size === 0) {
        // Nothing will take them (closeAll, or the peer went offline meanwhile): the caller keeps them.
        if (!this.settling) this.rejectQueue();
        this.hooks.idle();
      }
      return;
    }
    if (link !== this.active) {
      // Never the peer going offline; but what it left unacknowledged must not wait for nothing.
      if (!this.active && !this.settling && this.draining.size === 0) this.rejectQueue();
      return;
    }
    this.active = undefined;
    this.deliverHeld();
    if (!this.closingAll && link.gatewayPeer && this.hooks.replacementPending()) {
      this.opts.log.debug({ reason: info.reason }, 'link ended while another is on its way; waiting');
      this.opts.settles.start(this, () => this.endSettle(info));
      return;
    }
    this.goOffline(info);
  }

  /**
   * Messages the peer did not acknowledge on a link that ended (a gateway link with acks) were perhaps never
   * read: over Tor, a close drops what is still on its way. They go first on the next link, before the sends
   * that waited for the switch, so order holds; their callers learn the outcome there. Rarely the peer had
   * read one and its acknowledgement was lost: a duplicate, never a loss (at-least-once).
   */
  private resendUnfinished(link: Link): void {
    const unfinished = link.takeUnfinished();
    if (unfinished.length === 0) return;
    this.opts.log.debug({ count: unfinished.length, side: link.side }, 'link ended with messages not acknowledged; sending them again');
    this.queue.unshift(...unfinished);
  }

  private rejectQueue(): void {
    for (const q of this.queue.splice(0)) q.reject(new PeerUnreachableError(`${this.short} is not connected`, 'unknown'));
  }

  /** No retired link left: start the active one, deliver what it held, flush waiting sends. */
  private release(): void {
    if (this.draining.size > 0) return;
    const link = this.active;
    if (!link) return;
    link.start();
    this.deliverHeld();
    for (const q of this.queue.splice(0)) {
      if (link.isOpen) {
        this.written.add(link);
        link.sendRecord(q.record).then(q.resolve, q.reject);
      } else {
        q.reject(new PeerUnreachableError(`${this.short} is not connected`, 'unknown'));
      }
    }
  }

  private endSettle(info: LinkCloseInfo = { reason: 'remote' }, paced = true): void {
    this.clearSettle();
    if (!this.active) this.goOffline(info, paced);
  }

  private clearSettle(): void {
    this.opts.settles.delete(this);
  }

  /** What waited for a link fails now; the down itself waits for its turn in the pacer (deliverDown), unless `paced` is false. */
  private goOffline(info: LinkCloseInfo, paced = true): void {
    this.rejectQueue();
    if (!this.online || this.downPending) return;
    this.downPending = info;
    if (paced) this.pacer.run(() => this.deliverDown());
    else this.deliverDown();
  }

  /** The pending down, if any, now (from the pacer, or earlier when a link comes back or closeAll() is called). */
  private deliverDown(): void {
    const info = this.downPending;
    if (!info) return;
    this.downPending = undefined;
    this.online = false;
    this.hooks.down(info);
  }
}
