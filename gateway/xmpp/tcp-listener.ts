// The c2s TCP listener (RFC 6120 §3, port 5222 on loopback by default; STARTTLS happens in the stream).
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { listenLogged } from './listen.js';

export interface TcpListenerOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  log: Logger;
  onSocket(socket: Socket, remote: string): void;
  /** Most simultaneous connections; more are refused (default 256). */
  maxConnections?: number;
}

export class TcpListener {
  private server: Server | undefined;
  private _port: number | undefined;

  constructor(private readonly opts: TcpListenerOptions) {}

  get port(): number | undefined {
    return this._port;
  }

  async listen(): Promise<void> {
    const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) => {
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      // An 'error' with no listener would crash the process; the transport adds its own.
      socket.on('error', () => {});
      this.opts.onSocket(socket, remote);
    });
    server.maxConnections = this.opts.maxConnections ?? 256;
    this._port = await listenLogged(server, this.opts.host, this.opts.port, this.opts.log, 'c2s');
    this.server = server;
  }

  /** Stops accepting; open connections are closed by their streams, not here. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.close();
  }
}
