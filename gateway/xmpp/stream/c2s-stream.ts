// One client-to-server XML stream: header, features, STARTTLS, SASL, bind, then stanzas
// (RFC 6120 §4-§7). Every element is handled strictly in arrival order through one queue.
// COMPAT(pidgin): <enable/> is pipelined right behind the bind iq, before its result.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { StanzaError, StreamError } from '../errors.js';
import type { XmppIdentity } from '../feature.js';
import type { FeatureHost } from '../feature-host.js';
import type { ServerTls } from '../local-ca.js';
import { bindFeatures, bindResult, chooseResource, isBindIq, isSessionIq, sessionResult } from '../rfc6120-bind.js';
import { SASL_NS, SaslNegotiation, type SaslOptions } from '../rfc6120-sasl.js';
import { TLS_NS, canOfferStartTls, proceed, startTlsFeature, tlsFailure } from '../rfc6120-starttls.js';
import { CLIENT_NS, STREAM_NS, errorReply, stanzaKind } from '../stanza.js';
import { SM_NS, type SmStream, type StreamManagement } from '../xep-0198-stream-management.js';
import { CSI_NS, handleCsiNonza } from '../xep-0352-client-state.js';
import { Element, x } from '../xml/element.js';
import type { StreamOpen } from '../xml/parser.js';
import type { Session } from './session.js';
import type { BindableOutput, SessionManager } from './sessions.js';
import type { StreamTransport } from './transport.js';

export const FRAMING_NS = 'urn:ietf:params:xml:ns:xmpp-framing';

export interface StreamTimeouts {
  /** From connect (or a restart) to the client's stream header. */
  headerMs: number;
  /** From connect to a bound (or resumed) session. */
  negotiationMs: number;
  tlsHandshakeMs: number;
  /** How long one queued element may take before the queue moves on. */
  handlerMs: number;
}

/** (Additive) One local account as a stream sees it once authenticated. */
export interface C2sAccount {
  sessions: SessionManager;
  features: FeatureHost;
  sm: StreamManagement;
  /** Removed from the gateway: a stream authenticated as it may not bind any more. */
  readonly closed: boolean;
}

export interface C2sHost {
  /** The server's identity (its domain); each account has its own. */
  identity: XmppIdentity;
  tls: ServerTls | undefined;
  sasl: Omit<SaslOptions, 'log'>;
  /** The account SASL authenticated (its canonical username). */
  account(username: string): C2sAccount | undefined;
  timeouts: StreamTimeouts;
  /** Live streams, for stop(). */
  streams: Set<C2sStream>;
}

type State = 'wait-header' | 'negotiating' | 'closed';

// Pause reading when this many elements wait in the queue; resume below the low mark.
const QUEUE_HIGH = 128;
const QUEUE_LOW = 16;

export class C2sStream implements BindableOutput, SmStream {
  private state: State = 'wait-header';
  private authenticated = false;
  /** The account this stream authenticated as. */
  private user: C2sAccount | undefined;
  private session: Session | undefined;
  private readonly sasl: SaslNegotiation;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private paused = false;
  private headerTimer: NodeJS.Timeout | undefined;
  private negotiationTimer: NodeJS.Timeout | undefined;
  /** The stream ended on purpose (client close, stream error, conflict): no SM resumption. */
  private terminal = false;
  log: Logger;

  constructor(
    private readonly transport: StreamTransport,
    private readonly host: C2sHost,
    log: Logger,
  ) {
    this.log = log;
    this.sasl = new SaslNegotiation({ ...host.sasl, log, remote: transport.remote });
    host.streams.add(this);
    this.headerTimer = this.timer(host.timeouts.headerMs, 'no stream header');
    this.negotiationTimer = this.timer(host.timeouts.negotiationMs, 'login not completed in time');
    transport.start({
      open: (o) => this.enqueue(() => this.onOpen(o)),
      element: (el) => this.enqueue(() => this.onElement(el)),
      close: () => this.enqueue(() => this.onClientClose()),
      error: (err) => this.enqueue(() => this.fail(err)),
      end: () => this.enqueue(() => this.onTransportEnd()),
    });
  }

  private timer(ms: number, why: string): NodeJS.Timeout {
    const t = setTimeout(() => this.enqueue(() => this.fail(new StreamError('connection-timeout', why))), ms);
    t.unref();
    return t;
  }

  // ---- ordered processing --------------------------------------------------

  private enqueue(fn: () => void | Promise<void>): void {
    if (++this.pending > QUEUE_HIGH && !this.paused) {
      this.paused = true;
      this.transport.pause();
    }
    const { handlerMs } = this.host.timeouts;
    this.chain = this.chain
      .then(() => {
        // Errors are caught here, so a handler finishing after the timeout cannot go unhandled.
        const run = Promise.resolve()
          .then(fn)
          .catch((err: unknown) => this.fail(err));
        // Later than the iq timeout, so a stuck iq is answered before the queue moves on.
        return withTimeout(run, handlerMs + 1000, () => this.log.warn('element handling is slow; moving on'));
      })
      .finally(() => {
        if (--this.pending < QUEUE_LOW && this.paused) {
          this.paused = false;
          this.transport.resume();
        }
      });
  }

  private fail(err: unknown): void {
    if (this.state === 'closed') return;
    const streamErr = err instanceof StreamError ? err : undefined;
    if (!streamErr) this.log.error({ err }, 'stream failed');
    else this.log.info({ condition: streamErr.condition, text: streamErr.text }, 'stream error');
    this.terminal = true;
    this.state = 'closed';
    this.transport.streamError(streamErr ?? new StreamError('internal-server-error'));
  }

  // ---- stream header -------------------------------------------------------

  private onOpen(open: StreamOpen): void {
    if (this.state !== 'wait-header') throw new StreamError('bad-format', 'stream header in the middle of a stream');
    if (this.transport.kind === 'tcp') {
      if (open.local !== 'stream' || open.ns !== STREAM_NS) throw new StreamError('invalid-namespace', 'not a stream header');
      if (open.defaultNs !== CLIENT_NS) throw new StreamError('invalid-namespace', `default namespace must be ${CLIENT_NS}`);
    } else if (open.local !== 'open' || open.ns !== FRAMING_NS) {
      throw new StreamError('invalid-namespace', 'not an RFC 7395 <open/>');
    }
    const { domain } = this.host.identity;
    const from = open.attrs.from;
    this.transport.openStream({ id: randomBytes(12).toString('hex'), from: domain, to: from, version: '1.0', lang: 'en' });
    const to = open.attrs.to;
    if (to !== undefined && to.toLowerCase() !== domain.toLowerCase()) throw new StreamError('host-unknown', `this server is ${domain}`);
    const major = Number((open.attrs.version ?? '1.0').split('.')[0]);
    if (major > 1) throw new StreamError('unsupported-version');
    clearTimeout(this.headerTimer);
    this.state = 'negotiating';
    this.transport.send(x('features', { xmlns: STREAM_NS }, ...this.features()));
  }

  private features(): Element[] {
    if (!this.authenticated) {
      const secure = this.transport.secure;
      return [canOfferStartTls(this.transport, this.host.tls) ? startTlsFeature() : undefined, this.sasl.features(secure)].filter(
        (e): e is Element => e !== undefined,
      );
    }
    // Never <mechanisms> here (libpurple would authenticate again), never <sm> before auth.
    return [
      ...bindFeatures(),
      x('sm', { xmlns: SM_NS }),
      x('ver', { xmlns: 'urn:xmpp:features:rosterver' }),
      x('csi', { xmlns: CSI_NS }),
    ];
  }

  /** A new stream header is due on this transport (after STARTTLS or SASL success). */
  private expectRestart(): void {
    this.state = 'wait-header';
    this.transport.restart();
    this.headerTimer = this.timer(this.host.timeouts.headerMs, 'no stream header after restart');
  }

  // ---- elements ------------------------------------------------------------

  private async onElement(el: Element): Promise<void> {
    if (this.state === 'closed') return;
    // Only RFC 7395 can get here: its elements are not inside a stream header.
    if (this.state === 'wait-header') throw new StreamError('bad-format', 'element before <open/>');
    const ns = el.getNS();
    if (!this.authenticated) return this.preAuth(el, ns);
    if (!this.session) return this.preBind(el, ns);
    return this.bound(this.session, el, ns);
  }

  private async preAuth(el: Element, ns: string | undefined): Promise<void> {
    if (ns === TLS_NS && el.name === 'starttls') return this.startTls();
    if (ns === SASL_NS) {
      const outcome = this.sasl.handle(el, this.transport.secure, (e) => this.transport.send(e));
      if (outcome.kind === 'success') {
        this.user = this.host.account(outcome.username);
        if (!this.user) throw new StreamError('not-authorized', 'this account was removed');
        this.authenticated = true;
        this.log.info({ user: outcome.username }, 'authenticated');
        this.expectRestart();
      } else if (outcome.kind === 'close') {
        throw new StreamError('policy-violation', 'too many failed authentication attempts');
      }
      return;
    }
    throw new StreamError('not-authorized', 'authenticate first');
  }

  private async startTls(): Promise<void> {
    const tls = this.host.tls;
    if (!canOfferStartTls(this.transport, tls) || this.sasl.inProgress) {
      this.transport.send(tlsFailure());
      this.terminal = true;
      this.state = 'closed';
      this.transport.closeStream();
      return;
    }
    // No await between <proceed/> and the wrap: the ClientHello must reach the TLS socket.
    this.transport.send(proceed());
    const upgrade = this.transport.startTls!(tls, this.host.timeouts.tlsHandshakeMs);
    this.state = 'wait-header';
    clearTimeout(this.headerTimer);
    await upgrade;
    this.log.debug('TLS established');
    // COMPAT(pidgin): after the handshake Pidgin asks the user to accept our certificate and
    // sends nothing until they answer; give them as long as a login may take, not the header limit.
    this.headerTimer = this.timer(this.host.timeouts.negotiationMs, 'no stream header after TLS');
  }

  private async preBind(el: Element, ns: string | undefined): Promise<void> {
    const user = this.user!;
    if (user.closed) throw new StreamError('not-authorized', 'this account was removed');
    if (ns === SM_NS && el.name === 'resume') {
      const session = user.sm.resume(el, this, (old) => {
        (old.output as C2sStream | undefined)?.dropForResume();
      });
      if (session) {
        clearTimeout(this.negotiationTimer);
        // XEP-0352 §5.2: a resumed stream starts active; what waited goes out behind the resent stanzas.
        session.clientActive();
      }
      return;
    }
    if (ns === SM_NS && el.name === 'enable') {
      this.transport.send(x('failed', { xmlns: SM_NS }, x('unexpected-request', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
      return;
    }
    if (stanzaKind(el) === 'iq' && isBindIq(el)) return this.bind(el);
    throw new StreamError('not-authorized', 'bind a resource first');
  }

  private async bind(iq: Element): Promise<void> {
    let resource: string;
    try {
      resource = chooseResource(iq);
    } catch (err) {
      if (!(err instanceof StanzaError)) throw err;
      this.transport.send(errorReply(iq, err, undefined));
      return;
    }
    const user = this.user!;
    const session = await user.sessions.bind(resource, this, this.log);
    this.attach(session);
    clearTimeout(this.negotiationTimer);
    this.transport.send(bindResult(iq, session.jid.toString()));
    user.sessions.bound(session);
  }

  private async bound(session: Session, el: Element, ns: string | undefined): Promise<void> {
    const user = this.user!;
    if (ns === SM_NS) return user.sm.handle(session, el, this);
    // Nonzas, not stanzas: not counted by XEP-0198.
    if (ns === CSI_NS) return handleCsiNonza(session, el);
    // Never SASL: only stanzas of a bound session reach the trace log. Serialised only when trace is on (every
    // stanza was serialised here for a line nobody wrote: 1–2 % of a relaying gateway's CPU).
    if (session.log.isLevelEnabled('trace')) session.log.trace({ xml: el.toString() }, 'in');
    const kind = stanzaKind(el);
    if (!kind) throw new StreamError('unsupported-stanza-type', `<${el.name}/> in ${ns ?? 'no namespace'}`);
    if (kind === 'iq' && isBindIq(el)) {
      session.send(errorReply(el, new StanzaError('not-allowed', 'already bound'), session.jid.toString()));
    } else if (kind === 'iq' && isSessionIq(el) && (el.attrs.type === 'set' || el.attrs.type === 'get')) {
      session.send(sessionResult(el));
    } else {
      await user.features.handleStanza(session, el);
    }
    session.sm?.handled();
  }

  // ---- endings -------------------------------------------------------------

  private async onClientClose(): Promise<void> {
    if (this.state === 'closed') return;
    this.terminal = true;
    this.state = 'closed';
    this.transport.closeStream();
    // A clean close ends the session: nothing to resume (XEP-0198 §5).
    if (this.session) await this.user!.sessions.end(this.session, 'client closed the stream');
  }

  private async onTransportEnd(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.headerTimer);
    clearTimeout(this.negotiationTimer);
    this.host.streams.delete(this);
    const session = this.session;
    if (!session || session.ended || session.output !== this) return;
    const user = this.user!;
    if (!this.terminal && !user.closed && user.sm.detach(session)) return;
    await user.sessions.end(session, this.terminal ? 'stream closed' : 'connection lost');
  }

  // ---- outputs (SessionOutput, SmStream) -----------------------------------

  writeStanza(el: Element): void {
    this.transport.send(el);
  }

  writeRaw(el: Element): void {
    this.transport.send(el);
  }

  sendNonza(el: Element): void {
    this.transport.send(el);
  }

  attach(session: Session): void {
    this.session = session;
    session.output = this;
    this.log = session.log;
  }

  /** Another stream bound the same resource. */
  replaced(): void {
    this.terminal = true;
    this.fail(new StreamError('conflict', 'replaced by a new connection'));
  }

  /** (Additive) The account is gone (removed from the gateway): the stream ends with this error. */
  kick(err: StreamError): void {
    this.terminal = true;
    this.fail(err);
  }

  /** The session resumed on another stream: this one goes without touching the session. */
  dropForResume(): void {
    this.session = undefined;
    this.terminal = true;
    this.state = 'closed';
    this.transport.destroy();
  }

  /** Server shutdown: a resumable session stays detached; others end. */
  async shutdown(): Promise<void> {
    if (this.state === 'closed') return;
    const session = this.session;
    this.state = 'closed';
    this.transport.streamError(new StreamError('system-shutdown'));
    const user = this.user;
    if (user && session && !session.ended && session.output === this && !user.sm.detach(session)) {
      await user.sessions.end(session, 'server shutdown');
    }
    this.terminal = true;
  }
}

/** Resolves when `p` settles or after `ms` (calling onSlow); `p` keeps running. */
async function withTimeout(p: Promise<void>, ms: number, onSlow: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      onSlow();
      resolve();
    }, ms);
    timer.unref();
  });
  try {
    await Promise.race([p, slow]);
  } finally {
    clearTimeout(timer);
  }
}
