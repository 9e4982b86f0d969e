// The XEP-0114 component link, client side: connects out to an XMPP server's component port,
// authenticates with the handshake digest and keeps the stream up, reconnecting with backoff.
// XEP-0114 §3 (stream, handshake); RFC 6120 §4.9 (stream errors); Prosody mod_component, ejabberd_service.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Backoff, TypedEmitter } from '../bridge/peer-protocol.js';
import { describeFailure, type LinkFailure } from './component-errors.js';
import { STREAMS_NS, StreamError } from './errors.js';
import { CLIENT_NS, STREAM_NS, streamErrorElement } from './stanza.js';
import { serializeTop } from './stream/transport.js';
import { Element, escapeAttr } from './xml/element.js';
import { XmlStreamParser, type StreamOpen, type XmlLimits } from './xml/parser.js';

export const COMPONENT_NS = 'jabber:component:accept';

export interface ComponentLinkOptions {
  host: string;
  port: number;
  /** The component domain, e.g. peers.example.org. */
  domain: string;
  /** Shared with the server; never logged. */
  secret: string;
  log: Logger;
  limits?: Partial<XmlLimits>;
  /** TCP connect + stream header + handshake reply. Default 10 s. */
  connectTimeoutMs?: number;
  /** Reconnect delays: first ~1 s (jittered), doubling, capped at 60 s by default. */
  backoff?: { firstMs?: number; maxMs?: number };
  /** Bytes queued toward a server that does not read before the connection is cut. Default 8 MiB. */
  maxWriteBuffer?: number;
  /** A space is sent after this long without writing. Default 60 s. */
  keepaliveMs?: number;
}

export interface ComponentLinkEvents {
  online: [];
  offline: [reason: string];
  stanza: [Element];
}

/** Event tuples as listener signatures, for TypedEmitter. */
type Listeners<E> = { [K in keyof E]: E[K] extends unknown[] ? (...args: E[K]) => void : never };

/** A connection that stayed online this long restarts the backoff from its first delay. */
const STABLE_MS = 10_000;
/** How long stop() waits for the server's `</stream:stream>`. */
const CLOSE_GRACE_MS = 2_000;
/** After our `</stream:stream>` following a failure, how long the socket may linger. */
const LINGER_MS = 1_000;

/** How a server that answered without a stream id (and then no stream error) is described. */
const NO_STREAM_ID = { kind: 'bad-header', what: 'a stream header without an id' } as const;
/** 'headerless': the server answered without a stream id, and its stream error (the reason) may follow. */
type Phase = 'connecting' | 'opening' | 'headerless' | 'handshake' | 'online' | 'closing';

/** One TCP connection and its stream; a new one (with a new parser) per attempt. */
interface Conn {
  readonly socket: Socket;
  parser: XmlStreamParser;
  phase: Phase;
  done: boolean;
  onlineAt: number;
  timer: NodeJS.Timeout | undefined;
  keepalive: NodeJS.Timeout | undefined;
  /** Set by stop(): the server closed its side (or the socket went). */
  closed: (() => void) | undefined;
}

export class ComponentLink extends TypedEmitter<Listeners<ComponentLinkEvents>> {
  readonly domain: string;
  private readonly server: string;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private conn: Conn | undefined;
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private lastLogged: string | undefined;
  private _lastError: string | undefined;

  constructor(private readonly opts: ComponentLinkOptions) {
    super((err, event) => opts.log.error({ err, event }, 'component link listener threw'));
    this.domain = opts.domain;
    this.server = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
    this.log = opts.log;
    this.backoff = new Backoff({ initialMs: opts.backoff?.firstMs ?? 1_000, maxMs: opts.backoff?.maxMs ?? 60_000 });
  }

  get online(): boolean {
    return this.conn?.phase === 'online';
  }

  /** Why the link last failed, in plain words; cleared when it comes online. */
  get lastError(): string | undefined {
    return this._lastError;
  }

  /** Connects; from now on reconnects with backoff until stop(). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = undefined;
    if (!this.conn && !this.retryTimer) this.connect();
  }

  /** Closes the stream (waiting up to 2 s for the server's close); no more reconnects. */
  stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return (this.stopping ??= this.closeCurrent());
  }

  /** Sends a stanza if online and addressed as the server requires; false (and a log line) otherwise. */
  send(stanza: Element): boolean {
    try {
      const conn = this.conn;
      if (!conn || conn.phase !== 'online') {
        this.log.debug({ stanza: stanza.name, to: stanza.attrs.to }, 'component stream not online: stanza not sent');
        return false;
      }
      const bad = addressProblem(stanza, this.domain);
      if (bad) {
        this.log.error({ stanza: stanza.name, attr: bad.attr, value: bad.value, domain: this.domain }, bad.text);
        return false;
      }
      return this.write(conn, serializeStanza(stanza));
    } catch (err) {
      this.log.error({ err, stanza: stanza.name }, 'component stanza not sent');
      return false;
    }
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (!this.started) return;
    const socket = connect({ host: this.opts.host, port: this.opts.port });
    socket.setNoDelay(true);
    const conn: Conn = {
      socket,
      parser: undefined as unknown as XmlStreamParser,
      phase: 'connecting',
      done: false,
      onlineAt: 0,
      timer: undefined,
      keepalive: undefined,
      closed: undefined,
    };
    conn.parser = new XmlStreamParser(
      {
        open: (o) => this.onOpen(conn, o),
        element: (el) => this.onElement(conn, el),
        close: () => this.onServerClose(conn),
      },
      this.opts.limits,
    );
    this.conn = conn;
    const waitMs = this.opts.connectTimeoutMs ?? 10_000;
    conn.timer = setTimeout(() => {
      this.fail(conn, conn.phase === 'connecting' ? { kind: 'unreachable', code: 'timeout' } : { kind: 'no-answer', waitedMs: waitMs });
    }, waitMs);
    conn.timer.unref(); // the socket keeps the process alive while it matters
    socket.once('connect', () => {
      conn.phase = 'opening';
      this.write(
        conn,
        `<?xml version='1.0'?><stream:stream xmlns='${COMPONENT_NS}' xmlns:stream='${STREAM_NS}' to='${escapeAttr(this.domain)}'>`,
      );
    });
    socket.on('data', (chunk: Buffer) => this.feed(conn, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onSocketGone(conn, err.code ?? err.message));
    socket.on('close', () => this.onSocketGone(conn, 'connection closed'));
  }

  private feed(conn: Conn, chunk: Buffer): void {
    if (conn.done) return;
    try {
      conn.parser.write(chunk);
    } catch (err) {
      if (conn.phase === 'closing') return conn.closed?.();
      const se = err instanceof StreamError ? err : new StreamError('internal-server-error', String(err));
      const reply = serializeTop(streamErrorElement(se), false) + '</stream:stream>';
      this.fail(conn, { kind: 'bad-xml', condition: se.condition, text: se.text }, reply);
    }
  }

  private onOpen(conn: Conn, open: StreamOpen): void {
    if (conn.done || conn.phase !== 'opening') return;
    const id = open.attrs.id;
    if (open.local !== 'stream' || open.ns !== STREAM_NS) {
      return this.fail(conn, { kind: 'bad-header', what: `<${open.local}> instead of a stream header` }, '</stream:stream>');
    }
    if (open.defaultNs !== COMPONENT_NS) {
      return this.fail(conn, { kind: 'stream-error', condition: 'invalid-namespace' }, '</stream:stream>');
    }
    if (!id) {
      // Prosody refuses an undeclared domain this way: a header without an id, then <host-unknown/>.
      conn.phase = 'headerless';
      return;
    }
    conn.phase = 'handshake';
    // XEP-0114 §3: lower-case hex SHA-1 of the stream id followed by the secret.
    const digest = createHash('sha1').update(id + this.opts.secret, 'utf8').digest('hex');
    this.write(conn, `<handshake>${digest}</handshake>`);
  }

  private onElement(conn: Conn, el: Element): void {
    if (conn.done) return;
    if (el.name === 'error' && el.getNS() === STREAM_NS) {
      const condition = el.elements().find((c) => c.getNS() === STREAMS_NS && c.name !== 'text')?.name ?? 'undefined-condition';
      const text = el.getChildText('text', STREAMS_NS);
      return this.fail(conn, { kind: 'stream-error', condition, ...(text ? { text } : {}) }, '</stream:stream>');
    }
    if (conn.phase === 'headerless') return this.fail(conn, NO_STREAM_ID, '</stream:stream>');
    if (conn.phase === 'handshake') {
      if (el.name === 'handshake' && el.getNS() === COMPONENT_NS) return this.goOnline(conn);
      this.log.debug({ element: el.name }, 'element before the handshake reply ignored');
      return;
    }
    if (conn.phase !== 'online' || el.getNS() === STREAM_NS) return;
    // Stanzas reach the rest of the gateway namespace-free, like jabber:client ones (stanzaKind()).
    if (el.attrs.xmlns === COMPONENT_NS) delete el.attrs.xmlns;
    this.emit('stanza', el);
  }

  private onServerClose(conn: Conn): void {
    if (conn.phase === 'closing') return conn.closed?.();
    if (conn.done) return;
    if (conn.phase === 'headerless') return this.fail(conn, NO_STREAM_ID, '</stream:stream>');
    if (conn.phase === 'handshake') return this.fail(conn, { kind: 'refused-handshake', reason: 'end of stream' }, '</stream:stream>');
    this.fail(conn, { kind: 'closed', reason: 'end of stream' }, '</stream:stream>');
  }

  private onSocketGone(conn: Conn, reason: string): void {
    if (conn.phase === 'closing') return conn.closed?.();
    if (conn.done) return;
    if (conn.phase === 'connecting') return this.fail(conn, { kind: 'unreachable', code: reason });
    if (conn.phase === 'headerless') return this.fail(conn, NO_STREAM_ID);
    if (conn.phase === 'handshake') return this.fail(conn, { kind: 'refused-handshake', reason });
    this.fail(conn, { kind: 'closed', reason });
  }

  private goOnline(conn: Conn): void {
    clearTimeout(conn.timer);
    conn.phase = 'online';
    conn.onlineAt = Date.now();
    this._lastError = undefined;
    this.lastLogged = undefined;
    const keepaliveMs = this.opts.keepaliveMs ?? 60_000;
    // Whitespace keepalive (RFC 6120 §4.6.1): write() pushes it back on every write.
    conn.keepalive = setTimeout(() => {
      if (conn.phase === 'online' && !conn.done) this.write(conn, ' ');
    }, keepaliveMs);
    conn.keepalive.unref();
    this.log.info({ server: this.server, domain: this.domain }, 'component stream online');
    this.emit('online');
  }

  private write(conn: Conn, data: string): boolean {
    if (conn.done || conn.socket.destroyed) return false;
    conn.socket.write(data);
    conn.keepalive?.refresh();
    const queued = conn.socket.writableLength;
    if (queued > (this.opts.maxWriteBuffer ?? 8 * 1024 * 1024)) {
      this.fail(conn, { kind: 'write-buffer', bytes: queued });
      return false;
    }
    return true;
  }

  /** Ends one connection: logs the cause (once while it repeats), emits offline, schedules the retry. */
  private fail(conn: Conn, failure: LinkFailure, reply?: string): void {
    if (conn.done) return;
    const wasOnline = conn.phase === 'online';
    this.release(conn, reply);
    if (this.conn === conn) this.conn = undefined;
    if (wasOnline && Date.now() - conn.onlineAt >= STABLE_MS) this.backoff.reset();
    const report = describeFailure(failure, wasOnline, this.server, this.domain);
    this._lastError = report.text;
    const retryInMs = this.started ? this.backoff.next() : undefined;
    const data = { server: this.server, domain: this.domain, condition: report.condition, retryInMs };
    if (report.text !== this.lastLogged) {
      this.lastLogged = report.text;
      this.log[report.level](data, report.text);
    } else {
      this.log.debug(data, 'component link: same failure again');
    }
    // Scheduled before 'offline', so a listener that calls stop() also cancels it.
    if (retryInMs !== undefined) this.retryTimer = setTimeout(() => this.connect(), retryInMs);
    if (wasOnline) this.emit('offline', report.text);
  }

  /** Frees a connection's timers and socket; `reply` (our close) is written first if it can be. */
  private release(conn: Conn, reply?: string): void {
    conn.done = true;
    clearTimeout(conn.timer);
    clearTimeout(conn.keepalive);
    const socket = conn.socket;
    if (reply && socket.writable && conn.phase !== 'connecting') {
      socket.end(reply);
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    } else {
      socket.destroy();
    }
  }

  private async closeCurrent(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    const wasOnline = conn.phase === 'online';
    if (wasOnline && !conn.socket.destroyed) {
      clearTimeout(conn.keepalive);
      conn.keepalive = undefined;
      conn.phase = 'closing';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_GRACE_MS);
        conn.closed = () => {
          clearTimeout(timer);
          resolve();
        };
        conn.socket.write('</stream:stream>');
      });
    }
    conn.done = true;
    clearTimeout(conn.timer);
    clearTimeout(conn.keepalive);
    conn.socket.destroy();
    if (wasOnline) {
      this.log.info({ server: this.server, domain: this.domain }, 'component stream closed');
      this.emit('offline', 'stopped');
    }
  }
}

/** What Prosody and ejabberd would close the stream for (invalid-from, bad-request), or undefined. */
function addressProblem(stanza: Element, domain: string): { attr: string; value: string | undefined; text: string } | undefined {
  const { from, to } = stanza.attrs;
  if (from === undefined || domainOf(from) !== domain.toLowerCase()) {
    return { attr: 'from', value: from, text: `stanza not sent: its from is not in the component domain ${domain}` };
  }
  if (!to) return { attr: 'to', value: to, text: 'stanza not sent: it has no to (components must address every stanza)' };
  return undefined;
}

/** The domainpart of a JID, lower-cased (RFC 7622 §3.1: resource after the first '/', local before '@'). */
function domainOf(jid: string): string {
  const slash = jid.indexOf('/');
  const bare = slash < 0 ? jid : jid.slice(0, slash);
  const at = bare.indexOf('@');
  return (at < 0 ? bare : bare.slice(at + 1)).toLowerCase();
}

/** The stanza without its own namespace: it inherits the stream's jabber:component:accept. */
function serializeStanza(stanza: Element): string {
  const { xmlns, ...attrs } = stanza.attrs;
  // Most stanzas carry no namespace (the stream's default): written as they are, no copy.
  if (xmlns === undefined || (xmlns !== CLIENT_NS && xmlns !== COMPONENT_NS)) return stanza.toString();
  const copy = new Element(stanza.name, attrs);
  copy.children.push(...stanza.children); // shared, not re-parented: only serialized
  return copy.toString();
}
