// Stream management: acks, counting and resumption of c2s sessions (XEP-0198 v1.6, urn:xmpp:sm:3).
// COMPAT(pidgin): libpurple 2.14 enables SM without resume and sends <r/> after every
// stanza; each gets its own <a h/>, and everything is processed strictly in order.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { STANZAS_NS, StreamError } from './errors.js';
import type { Session } from './stream/session.js';
import { Element, x } from './xml/element.js';

export const SM_NS = 'urn:xmpp:sm:3';
const MOD = 2 ** 32;

/** Per-session counters and the queue of stanzas the client has not acknowledged yet. */
export class SmState {
  enabled = false;
  resumable = false;
  id: string | undefined;
  /** Stanzas from the client handled so far (the h we report). */
  inbound = 0;
  /** We sent <r/> and wait for its <a/>: one request in flight at a time. */
  ackRequested = false;
  /** Stanzas sent to the client so far. */
  private outbound = 0;
  private readonly queue: Element[] = [];

  constructor(private readonly maxUnacked: number) {}

  get unackedCount(): number {
    return this.queue.length;
  }

  /** Records an outgoing stanza; false when the queue is full (the session must end). */
  sent(el: Element): boolean {
    if (this.queue.length >= this.maxUnacked) return false;
    this.queue.push(el);
    this.outbound = (this.outbound + 1) % MOD;
    return true;
  }

  handled(): void {
    this.inbound = (this.inbound + 1) % MOD;
  }

  /** Applies the client's h. A stale h is ignored; one beyond what we sent is an error. */
  ack(h: number): void {
    const base = (this.outbound - this.queue.length + MOD) % MOD;
    const acked = (h - base + MOD) % MOD;
    if (acked <= this.queue.length) {
      this.queue.splice(0, acked);
      this.ackRequested = false;
      return;
    }
    if ((base - h + MOD) % MOD < MOD / 2) return; // an old <a/> arriving late
    throw new StreamError('undefined-condition', `handled-count-too-high: h=${h}, sent=${this.outbound}`);
  }

  unacked(): readonly Element[] {
    return this.queue;
  }

  takeUnacked(): Element[] {
    return this.queue.splice(0);
  }
}

export interface SmOptions {
  resumeTimeoutMs: number;
  maxUnacked: number;
  log: Logger;
  /** Ends a session for good (resume window over, or queue overflow). */
  endSession(session: Session, reason: string): void;
  /**
   * Group commit (PeerNetwork.whenCommitted): `cb` once what the stanzas handled so far stored is committed, with
   * the error when that commit failed. An <a/> counts a stanza as handled, so it goes out only then. Absent:
   * handled is stored (at once).
   */
  whenCommitted?(cb: (err?: Error) => void): void;
  /** Commits what whenCommitted waits for, now (before <resumed h/>); throws when that fails. */
  commitNow?(): void;
}

/** What a stream gives the SM code to talk through. */
export interface SmStream {
  sendNonza(el: Element): void;
  /** Writes a stanza without SM counting (a resend of one already counted). */
  writeRaw(el: Element): void;
  /** Makes this stream the output of the session. */
  attach(session: Session): void;
  /** Ends the stream with this error and the session with it (no resumption: its h would count lost stanzas). */
  kick(err: StreamError): void;
}

function parseH(el: Element): number {
  const h = Number(el.attrs.h);
  if (!Number.isInteger(h) || h < 0 || h >= MOD) throw new StreamError('bad-format', 'invalid h');
  return h;
}

function failed(condition: string, h?: number): Element {
  return x('failed', { xmlns: SM_NS, h }, x(condition, { xmlns: STANZAS_NS }));
}

export class StreamManagement {
  private readonly resumable = new Map<string, Session>();

  constructor(private readonly opts: SmOptions) {}

  get resumeSeconds(): number {
    return Math.max(1, Math.round(this.opts.resumeTimeoutMs / 1000));
  }

  /** Handles <enable/>, <r/>, <a/> on a bound stream. */
  handle(session: Session, el: Element, stream: SmStream): void {
    const sm = session.sm;
    switch (el.name) {
      case 'enable': {
        if (sm?.enabled) return stream.sendNonza(failed('unexpected-request'));
        const state = (session.sm = new SmState(this.opts.maxUnacked));
        state.enabled = true;
        const wantsResume = el.attrs.resume === 'true' || el.attrs.resume === '1';
        if (wantsResume) {
          state.resumable = true;
          state.id = randomBytes(12).toString('base64url');
          this.resumable.set(state.id, session);
        }
        stream.sendNonza(
          x('enabled', {
            xmlns: SM_NS,
            id: state.id,
            resume: wantsResume ? 'true' : undefined,
            max: wantsResume ? this.resumeSeconds : undefined,
          }),
        );
        return;
      }
      case 'r': {
        if (!sm?.enabled) return;
        // The h of now, told once the stanzas it counts are on disk (the turn's group commit; at once when none
        // is open). The <a/>s keep their order: the waiters run in the order they came.
        const h = sm.inbound;
        const answer = (err?: Error): void => {
          if (!err) return stream.sendNonza(x('a', { xmlns: SM_NS, h }));
          session.log.error({ err: err.message }, 'handled stanzas could not be stored; ending the session');
          sm.resumable = false;
          stream.kick(new StreamError('internal-server-error', 'messages could not be stored; send them again'));
        };
        if (this.opts.whenCommitted) this.opts.whenCommitted(answer);
        else answer();
        return;
      }
      case 'a':
        if (!sm?.enabled) return;
        sm.ack(parseH(el));
        // Stanzas sent after our <r/> are still unacknowledged: ask again.
        if (sm.unackedCount > 0) session.requestAck();
        return;
      case 'resume':
        return stream.sendNonza(failed('unexpected-request'));
      default:
        throw new StreamError('unsupported-stanza-type', `<${el.name}/> in ${SM_NS}`);
    }
  }

  /** The transport dropped: keep the session for resumption if it asked for it. */
  detach(session: Session): boolean {
    const sm = session.sm;
    if (!sm?.resumable || !sm.id || session.ended) return false;
    session.output = undefined;
    clearTimeout(session.expiry);
    session.expiry = setTimeout(() => this.opts.endSession(session, 'resume window expired'), this.opts.resumeTimeoutMs);
    session.expiry.unref();
    session.log.info({ unacked: sm.unackedCount, seconds: this.resumeSeconds }, 'session detached, resumable');
    return true;
  }

  /**
   * <resume previd h/> on a new authenticated stream. Returns the resumed session, or
   * undefined after answering <failed/> (the client may then bind a new resource).
   */
  resume(el: Element, stream: SmStream, detachOld: (session: Session) => void): Session | undefined {
    const session = el.attrs.previd ? this.resumable.get(el.attrs.previd) : undefined;
    if (!session || session.ended || !session.sm) {
      stream.sendNonza(failed('item-not-found'));
      return undefined;
    }
    const sm = session.sm;
    const h = parseH(el);
    try {
      // <resumed h/> counts the old stream's stanzas as handled: on disk first.
      this.opts.commitNow?.();
    } catch (err) {
      session.log.error({ err: (err as Error).message }, 'handled stanzas could not be stored; session not resumed');
      this.opts.endSession(session, 'store failure');
      stream.sendNonza(failed('item-not-found'));
      return undefined;
    }
    // The client may notice a dead connection before we do: the old stream goes quietly.
    if (session.output) detachOld(session);
    clearTimeout(session.expiry);
    session.expiry = undefined;
    sm.ack(h);
    stream.attach(session);
    stream.sendNonza(x('resumed', { xmlns: SM_NS, previd: sm.id, h: sm.inbound }));
    for (const stanza of sm.unacked()) stream.writeRaw(stanza);
    sm.ackRequested = false;
    if (sm.unackedCount > 0) session.requestAck();
    session.log.info({ resent: sm.unackedCount }, 'session resumed');
    return session;
  }

  forget(session: Session): void {
    clearTimeout(session.expiry);
    session.expiry = undefined;
    const id = session.sm?.id;
    if (id && this.resumable.get(id) === session) this.resumable.delete(id);
  }

  /** Sessions kept for resumption (for stop()). */
  detachedSessions(): Session[] {
    return [...this.resumable.values()].filter((s) => !s.output && !s.ended);
  }
}
