// Inbound side: TCP listeners, TLS handshakes in parallel with a timeout each, and a cap on handshakes in progress.
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import { acceptLink, type Link } from '../link.js';
import type { Logger } from '../logger.js';
import type { TlsContext } from '../tls-context.js';
import type { PeerAddress } from './dial.js';

export interface InboundOptions {
  tls: TlsContext;
  log: Logger;
  maxPendingHandshakes: number;
  handshakeTimeoutMs: number;
  maxMessageBytes?: number;
  /** An authenticated, unstarted link: its owner decides whether it may live. */
  onLink: (link: Link) => void;
  onRejected: (info: { reason: string; error?: Error }) => void;
}

export class InboundListeners {
  private readonly servers: net.Server[] = [];
  /** Raw sockets whose handshake is in progress (destroyed on close). */
  private readonly pending = new Set<net.Socket>();
  private readonly abort = new AbortController();

  constructor(private readonly o: InboundOptions) {
    // Every handshake in progress listens on this one signal; up to maxPendingHandshakes is by design.
    setMaxListeners(0, this.abort.signal);
  }

  get pendingHandshakes(): number {
    return this.pending.size;
  }

  async listen(specs: PeerAddress[]): Promise<void> {
    for (const spec of specs) {
      const server = net.createServer((socket) => this.onConnection(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: spec.host, port: spec.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // A failing listener after start is logged, never thrown into the process.
      server.on('error', (err) => this.o.log.error({ err: err.message }, 'listener failed'));
      this.servers.push(server);
    }
  }

  addresses(): PeerAddress[] {
    return this.servers.flatMap((s) => {
      const a = s.address();
      return a && typeof a === 'object' ? [{ host: a.address, port: a.port }] : [];
    });
  }

  /** Stop accepting and drop every handshake in progress. Established links are not ours. */
  close(): void {
    this.abort.abort();
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    // Stops listening at once; the 'close' event would also wait for the accepted sockets,
    // which are links now, closed (with a bounded wait) by the manager.
    for (const s of this.servers.splice(0)) s.close();
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => {}); // reported through the handshake
    if (this.abort.signal.aborted) {
      socket.destroy();
      return;
    }
    if (this.pending.size >= this.o.maxPendingHandshakes) {
      // Cheapest possible refusal: a flood of half-open connections costs us one close each.
      socket.destroy();
      this.o.onRejected({ reason: 'too many handshakes in progress' });
      return;
    }
    this.pending.add(socket);
    acceptLink(socket, this.o.tls, {
      handshakeTimeoutMs: this.o.handshakeTimeoutMs,
      maxMessageBytes: this.o.maxMessageBytes,
      signal: this.abort.signal,
      log: this.o.log,
    }).then(
      (link) => {
        this.pending.delete(socket);
        this.o.onLink(link);
      },
      (err: Error) => {
        this.pending.delete(socket);
        socket.destroy();
        if (!this.abort.signal.aborted) this.o.onRejected({ reason: 'handshake failed', error: err });
      },
    );
  }
}
