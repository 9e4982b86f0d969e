// A c2s XML stream over a byte stream (TCP socket, TLS socket, or any in-memory Duplex):
// framing, STARTTLS upgrade in place, bounded write buffer (RFC 6120 §4, §5).
import type { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { StreamError } from '../errors.js';
import type { ServerTls } from '../local-ca.js';
import { streamErrorElement } from '../stanza.js';
import type { Element } from '../xml/element.js';
import { escapeAttr } from '../xml/element.js';
import { XmlStreamParser, type XmlLimits } from '../xml/parser.js';
import { serializeTop, type StreamHeaderAttrs, type StreamTransport, type TransportEvents } from './transport.js';

export interface TcpTransportOptions {
  remote: string;
  domain: string;
  limits: Partial<XmlLimits>;
  /** Bytes we may queue for a client that does not read before we cut it. */
  maxWriteBuffer: number;
  log: Logger;
  secure?: boolean;
  /** False for transports where TLS makes no sense (none today; kept for tests). */
  tlsPossible?: boolean;
}

// After we close our side, how long the client gets to close its own.
const CLOSE_GRACE_MS = 5_000;

export class TcpTransport implements StreamTransport {
  readonly kind = 'tcp' as const;
  private socket: Duplex;
  private events: TransportEvents | undefined;
  private parser: XmlStreamParser | undefined;
  private headerSent = false;
  private closing = false;
  private ended = false;
  private _secure: boolean;
  private readonly onData = (chunk: Buffer) => this.feed(chunk);
  private readonly onEnd = () => this.finish();
  private readonly onError = (err: Error) => {
    this.opts.log.debug({ err: err.message }, 'transport error');
    this.finish();
  };

  constructor(
    socket: Duplex,
    private readonly opts: TcpTransportOptions,
  ) {
    this.socket = socket;
    this._secure = opts.secure ?? false;
  }

  get secure(): boolean {
    return this._secure;
  }

  get canStartTls(): boolean {
    return !this._secure && this.opts.tlsPossible !== false;
  }

  get remote(): string {
    return this.opts.remote;
  }

  start(events: TransportEvents): void {
    this.events = events;
    this.restart();
    this.attach();
  }

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.on('end', this.onEnd);
    this.socket.on('close', this.onEnd);
    this.socket.on('error', this.onError);
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    // Keep an error listener: an unhandled 'error' would crash the process.
  }

  restart(): void {
    const events = this.events!;
    this.headerSent = false;
    this.parser = new XmlStreamParser(
      {
        open: (o) => events.open(o),
        element: (el) => events.element(el),
        close: () => events.close(),
      },
      this.opts.limits,
    );
  }

  private feed(chunk: Buffer): void {
    if (this.closing || !this.parser) return;
    try {
      this.parser.write(chunk);
    } catch (err) {
      this.parser = undefined;
      if (err instanceof StreamError) this.events?.error(err);
      else throw err;
    }
  }

  openStream(a: StreamHeaderAttrs): void {
    this.headerSent = true;
    const to = a.to ? ` to='${escapeAttr(a.to)}'` : '';
    this.write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'` +
        ` id='${escapeAttr(a.id)}' from='${escapeAttr(a.from)}'${to} version='${a.version}' xml:lang='${a.lang}'>`,
    );
  }

  send(el: Element): void {
    this.write(serializeTop(el, false));
  }

  private write(data: string): void {
    if (this.closing || this.ended || this.socket.destroyed) return;
    this.socket.write(data);
    if (this.socket.writableLength > this.opts.maxWriteBuffer) {
      this.opts.log.warn({ buffered: this.socket.writableLength }, 'client is not reading; connection cut');
      this.destroy();
    }
  }

  closeStream(): void {
    if (this.closing) return;
    this.write('</stream:stream>');
    this.closing = true;
    this.parser = undefined;
    this.socket.end();
    // A client that never closes its side must not keep the socket forever.
    setTimeout(() => this.destroy(), CLOSE_GRACE_MS).unref();
  }

  streamError(err: StreamError): void {
    if (this.closing) return;
    // RFC 6120 §4.9.1.2: an error before our header still needs a header first.
    if (!this.headerSent) this.openStream({ id: 'error', from: this.opts.domain, version: '1.0', lang: 'en' });
    this.write(serializeTop(streamErrorElement(err), false));
    this.closeStream();
  }

  destroy(): void {
    this.closing = true;
    this.parser = undefined;
    this.socket.destroy();
    this.finish();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  async startTls(tls: ServerTls, timeoutMs: number): Promise<void> {
    this.detach();
    this.parser = undefined;
    const secureContext = createSecureContext({ cert: tls.certPem, key: tls.keyPem });
    const tlsSocket = new TLSSocket(this.socket as never, { isServer: true, secureContext });
    tlsSocket.on('error', this.onError);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StreamError('connection-timeout', 'TLS handshake timed out')), timeoutMs);
      tlsSocket.once('secure', () => {
        clearTimeout(timer);
        resolve();
      });
      tlsSocket.once('close', () => {
        clearTimeout(timer);
        reject(new StreamError('undefined-condition', 'TLS handshake failed'));
      });
    }).catch((err: unknown) => {
      tlsSocket.destroy();
      this.socket.destroy();
      this.finish();
      throw err;
    });
    this.socket = tlsSocket;
    this._secure = true;
    this.restart();
    this.attach();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    if (!this.socket.destroyed) this.socket.destroy();
    this.events?.end();
  }
}
