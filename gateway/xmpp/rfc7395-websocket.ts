// XMPP over WebSocket (RFC 7395) on loopback: subprotocol `xmpp`, one element per message,
// <open/>/<close/> framing; Origin allow-list and Host check against cross-site WebSocket
// hijacking and DNS rebinding (RFC 6455 §10.2). No STARTTLS: loopback counts as secure.
// COMPAT(converse.js): Strophe requires the first message to be <open …/> carrying the
// framing namespace and version='1.0', and every message to declare its namespaces.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { StreamError } from './errors.js';
import { listenLogged } from './listen.js';
import { connectionLogger } from './log.js';
import { streamErrorElement } from './stanza.js';
import { FRAMING_NS } from './stream/c2s-stream.js';
import { serializeTop, type StreamHeaderAttrs, type StreamTransport, type TransportEvents } from './stream/transport.js';
import { escapeAttr, type Element } from './xml/element.js';
import { parseFramedElement, type XmlLimits } from './xml/parser.js';

export interface WebSocketListenerOptions {
  host: string;
  port: number;
  /** Browser origins allowed to connect; requests without Origin (native clients) always are. */
  allowedOrigins: string[];
  limits: Partial<XmlLimits>;
  maxWriteBuffer: number;
  domain: string;
  log: Logger;
  onTransport(transport: StreamTransport, log: Logger): void;
  nextConnId(): string;
  /** Keepalive ping interval (default 30 s); a connection missing a pong is cut. */
  pingIntervalMs?: number;
}

/** Host names that always mean this machine (a Host header naming anything else may be DNS rebinding). */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

export class WebSocketListener {
  private http: Server | undefined;
  private wss: Promise<WebSocketServer> | undefined;
  private _port: number | undefined;

  constructor(private readonly opts: WebSocketListenerOptions) {}

  get port(): number | undefined {
    return this._port;
  }

  async listen(): Promise<void> {
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('XMPP over WebSocket only\n');
    });
    http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this._port = await listenLogged(http, this.opts.host, this.opts.port, this.opts.log, 'websocket');
    this.http = http;
  }

  /**
   * The `ws` server, loaded at the first WebSocket handshake rather than at start: the listener
   * is on by default, but most users never open it, and `ws` costs several MB of idle memory.
   */
  private server(): Promise<WebSocketServer> {
    const maxPayload = (this.opts.limits.maxStanzaBytes ?? 256 * 1024) + 1024;
    return (this.wss ??= import('ws').then(
      ({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload, handleProtocols: () => 'xmpp', clientTracking: false }),
    ));
  }

  /** Why a handshake is refused before any upgrade, or undefined to accept it. */
  private refuse(req: IncomingMessage): { status: number; reason: string } | undefined {
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes('xmpp')) return { status: 501, reason: 'subprotocol xmpp required' };
    const origin = req.headers.origin;
    if (origin !== undefined && !this.opts.allowedOrigins.includes(origin)) return { status: 403, reason: 'origin not allowed' };
    const host = (req.headers.host ?? '').toLowerCase();
    const ok = LOOPBACK_HOSTS.some((h) => host === `${h}:${this._port}` || (this._port === 80 && host === h));
    if (!ok) return { status: 403, reason: 'host not allowed' };
    return undefined;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const refused = this.refuse(req);
    if (refused) {
      this.opts.log.info({ origin: req.headers.origin, host: req.headers.host, reason: refused.reason }, 'websocket refused');
      socket.end(`HTTP/1.1 ${refused.status} ${refused.reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.server().then(
      (wss) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          const conn = this.opts.nextConnId();
          const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
          const log = connectionLogger(this.opts.log, conn, remote).child({ transport: 'websocket' });
          this.opts.onTransport(new WebSocketTransport(ws, { ...this.opts, remote, log }), log);
        }),
      (err: unknown) => {
        this.opts.log.error({ err }, 'websocket support failed to load');
        socket.destroy();
      },
    );
  }

  async close(): Promise<void> {
    const http = this.http;
    this.http = undefined;
    void this.wss?.then((wss) => wss.close());
    http?.close();
  }
}

interface TransportOptions {
  remote: string;
  domain: string;
  limits: Partial<XmlLimits>;
  maxWriteBuffer: number;
  log: Logger;
  pingIntervalMs?: number;
}

const CLOSE_GRACE_MS = 5_000;

export class WebSocketTransport implements StreamTransport {
  readonly kind = 'websocket' as const;
  readonly secure = true;
  readonly canStartTls = false;
  private events: TransportEvents | undefined;
  private headerSent = false;
  private closing = false;
  private ended = false;
  private alive = true;
  private pinger: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: TransportOptions,
  ) {}

  get remote(): string {
    return this.opts.remote;
  }

  start(events: TransportEvents): void {
    this.events = events;
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('close', () => this.finish());
    this.ws.on('error', (err) => {
      this.opts.log.debug({ err: err.message }, 'websocket error');
      this.finish();
    });
    this.ws.on('pong', () => (this.alive = true));
    this.pinger = setInterval(() => {
      if (!this.alive) {
        this.opts.log.info('websocket keepalive lost');
        return this.destroy();
      }
      this.alive = false;
      this.ws.ping();
    }, this.opts.pingIntervalMs ?? 30_000);
    this.pinger.unref();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    try {
      if (isBinary) throw new StreamError('bad-format', 'RFC 7395 messages are text frames');
      const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
      const el = parseFramedElement(text, this.opts.limits);
      if (el.attrs.xmlns === FRAMING_NS && el.name === 'open') {
        const { xmlns: _ns, ...attrs } = el.attrs;
        this.events?.open({ local: 'open', prefix: '', ns: FRAMING_NS, defaultNs: '', attrs });
      } else if (el.attrs.xmlns === FRAMING_NS && el.name === 'close') {
        this.events?.close();
      } else {
        this.events?.element(el);
      }
    } catch (err) {
      const streamErr = err instanceof StreamError ? err : new StreamError('not-well-formed', 'invalid UTF-8');
      this.closing = true;
      this.events?.error(streamErr);
    }
  }

  openStream(a: StreamHeaderAttrs): void {
    this.headerSent = true;
    const to = a.to ? ` to='${escapeAttr(a.to)}'` : '';
    this.write(
      `<open xmlns='${FRAMING_NS}' id='${escapeAttr(a.id)}' from='${escapeAttr(a.from)}'${to} version='${a.version}' xml:lang='${a.lang}'/>`,
    );
  }

  send(el: Element): void {
    this.write(serializeTop(el, true));
  }

  private write(data: string): void {
    if (this.ended || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data);
    if (this.ws.bufferedAmount > this.opts.maxWriteBuffer) {
      this.opts.log.warn({ buffered: this.ws.bufferedAmount }, 'client is not reading; connection cut');
      this.destroy();
    }
  }

  restart(): void {
    // Each message stands alone: the next <open/> simply starts the new stream.
    this.headerSent = false;
  }

  closeStream(): void {
    if (this.ended) return;
    this.write(`<close xmlns='${FRAMING_NS}'/>`);
    this.closing = true;
    this.ws.close(1000);
    setTimeout(() => this.destroy(), CLOSE_GRACE_MS).unref();
  }

  streamError(err: StreamError): void {
    if (this.ended) return;
    if (!this.headerSent) this.openStream({ id: 'error', from: this.opts.domain, version: '1.0', lang: 'en' });
    this.write(serializeTop(streamErrorElement(err), true));
    this.closeStream();
  }

  destroy(): void {
    this.closing = true;
    this.ws.terminate();
    this.finish();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.pinger);
    this.events?.end();
  }
}
