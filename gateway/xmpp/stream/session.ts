// One bound resource of the user (RFC 6120 §7): outlives its stream while XEP-0198 keeps
// it resumable. Everything sent to the client goes through send(), which does SM counting.
import type { JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { SessionInfo } from '../hooks.js';
import type { Element } from '../xml/element.js';
import { SM_NS, type SmState } from '../xep-0198-stream-management.js';
import { ClientState } from '../xep-0352-client-state.js';
import { x } from '../xml/element.js';

/** What a session writes to: the current stream, while one is attached. */
export interface SessionOutput {
  writeStanza(el: Element): void;
  sendNonza(el: Element): void;
}

export class Session implements SessionInfo {
  available = false;
  presence: Element | undefined;
  /** 'initial-presence' fires once per session, on its first available presence. */
  initialPresenceSent = false;
  /** The stream the session is attached to; undefined while detached (SM) or ended. */
  output: SessionOutput | undefined;
  sm: SmState | undefined;
  ended = false;
  /** Fires when a detached session's resume window closes. */
  expiry: NodeJS.Timeout | undefined;
  /** XEP-0352: while the client says it is inactive, stanzas that can wait are held here. */
  readonly clientState = new ClientState();
  /** hold(): stanzas waiting for the commit that covers them (GatewaySink.batch). */
  private untilCommit: Element[] | undefined;

  constructor(
    readonly id: string,
    readonly jid: JID,
    readonly log: Logger,
    /** Called when the unacked queue of a detached session overflows. */
    private readonly onOverflow: (session: Session) => void,
  ) {}

  get resource(): string {
    return this.jid.resource;
  }

  /** RFC 6121 §4.7.2.3: the priority of the last available presence, -128..127, 0 when absent. */
  get priority(): number {
    return presencePriority(this.presence);
  }

  send(stanza: Element): void {
    if (this.ended) {
      this.log.debug({ stanza: stanza.name }, 'stanza to an ended session dropped');
      return;
    }
    if (!stanza.attrs.to) {
      stanza = stanza.clone();
      stanza.attrs.to = this.jid.toString();
    }
    if (this.untilCommit) {
      this.untilCommit.push(stanza);
      return;
    }
    for (const el of this.clientState.pass(stanza)) this.transmit(el);
  }

  /** From now on send() keeps stanzas back until release(). */
  hold(): void {
    this.untilCommit ??= [];
  }

  /** What hold() kept: sent now, in order (`send`), or dropped (its commit rolled back). */
  release(send: boolean): void {
    const kept = this.untilCommit ?? [];
    this.untilCommit = undefined;
    if (send) for (const el of kept) this.send(el);
  }

  /** XEP-0352 <active/> (or a resumed stream, which starts active): what was held goes out now, in order. */
  clientActive(): void {
    for (const el of this.clientState.activate()) this.transmit(el);
  }

  private transmit(stanza: Element): void {
    if (this.ended) return;
    if (this.sm?.enabled) {
      if (!this.sm.sent(stanza)) {
        this.log.warn({ unacked: this.sm.unackedCount }, 'stream management queue full');
        this.onOverflow(this);
        return;
      }
    } else if (!this.output) {
      this.log.debug({ stanza: stanza.name }, 'stanza to a detached session without SM dropped');
      return;
    }
    // Serialised only when trace is on: otherwise every delivered stanza was serialised twice (here and on the socket).
    if (this.log.isLevelEnabled('trace')) this.log.trace({ xml: stanza.toString() }, 'out');
    this.output?.writeStanza(stanza);
    if (this.sm?.enabled) this.requestAck();
  }

  /**
   * Asks the client for an <a/> soon after we sent stanzas, one request at a time, so
   * the unacked queue stays short on long-lived connections (XEP-0198 §4).
   */
  requestAck(): void {
    const sm = this.sm;
    if (!sm?.enabled || sm.ackRequested || !this.output) return;
    sm.ackRequested = true;
    // Batched: one <r/> after everything sent in this turn of the event loop.
    setImmediate(() => {
      if (!this.ended && this.output && sm.unackedCount > 0) this.output.sendNonza(x('r', { xmlns: SM_NS }));
      else sm.ackRequested = false;
    });
  }
}

/** The <priority/> of a presence (RFC 6121 §4.7.2.3): an integer -128..127; absent or invalid is 0. */
export function presencePriority(presence: Element | undefined): number {
  const text = presence?.getChildText('priority')?.trim();
  if (!text || !/^[+-]?\d{1,3}$/.test(text)) return 0;
  const n = Number(text);
  return n >= -128 && n <= 127 ? n : 0;
}
