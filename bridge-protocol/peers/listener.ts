// Inbound side: TCP listeners, TLS handshakes paced (a few at once, the rest queued), a deadline each, and a cap on handshakes pending.
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import { TimeoutError } from '../errors.js';
import { acceptLink, type Link } from '../link.js';
import type { Logger } from '../logger.js';
import type { TlsContext } from '../tls-context.js';
import type { PeerAddress } from './dial.js';

export interface InboundOptions {
  tls: TlsContext;
  log: Logger;
  /** Accepted connections whose handshake has not finished (queued or in progress); beyond it new ones are closed at once. */
  maxPendingHandshakes: number;
  /** Handshakes given the event loop at once; the others wait their turn in arrival order. */
  maxConcurrentHandshakes: number;
  /** From accept to an authenticated link, queueing included. */
  handshakeTimeoutMs: number;
  /** A connection that sends nothing (no ClientHello) this long after accept is dropped. */
  firstByteTimeoutMs: number;
  maxMessageBytes?: number;
  /** Gateway ALPN ids, best first (default GATEWAY_ALPNS). */
  gatewayAlpns?: readonly string[];
  /** An authenticated, unstarted link: its owner decides whether it may live. */
  onLink: (link: Link) => void;
  onRejected: (info: { reason: string; error?: Error }) => void;
}

/**
 * How long a handshake keeps its slot at most. The CPU-heavy part (our signature, made when the
 * ClientHello is processed) is done within the first loop turn; a handshake still running after
 * this waits on the network (a slow Tor circuit, a peer that stalls mid-way) and goes on, with its
 * own deadline, without holding back the queue.
 */
const SLOT_HOLD_MS = 500;

interface Waiting {
  socket: net.Socket;
  acceptedAt: number;
}

/**
 * Why pace: Node makes each handshake's RSA signature (≈2.7 ms) on the event loop, in the read
 * callback of the ClientHello. When hundreds of peers reconnect at once, unpaced, their ClientHellos
 * are processed back to back in one poll phase and an established link's messages wait behind
 * them (bench/README.md, storms). A connection takes a slot only once its first bytes are there, so
 * a peer that connects and says nothing never holds one; it is dropped after firstByteTimeoutMs.
 */
export class InboundListeners {
  private readonly servers: net.Server[] = [];
  /** Raw sockets accepted and not yet links: waiting for a first byte, queued, or in a handshake. */
  private readonly pending = new Set<net.Socket>();
  /** First bytes arrived, waiting for a slot, oldest first. */
  private readonly ready: Waiting[] = [];
  private inProgress = 0;
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

  /** Stop accepting and drop every handshake in progress or queued. Established links are not ours. */
  close(): void {
    this.abort.abort();
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    this.ready.length = 0;
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
    const waiting: Waiting = { socket, acceptedAt: Date.now() };
    const firstByteMs = Math.min(this.o.firstByteTimeoutMs, this.o.handshakeTimeoutMs);
    const silent = setTimeout(() => this.drop(socket, new TimeoutError('TLS ClientHello', firstByteMs)), firstByteMs);
    const onClose = (): void => {
      clearTimeout(silent);
      this.pending.delete(socket);
    };
    socket.once('close', onClose);
    // 'readable' buffers what arrived without consuming it: the TLS socket made later reads it first.
    socket.once('readable', () => {
      clearTimeout(silent);
      if (!this.pending.has(socket)) return;
      this.ready.push(waiting);
      this.pump();
    });
  }

  /** Starts queued handshakes while slots are free. */
  private pump(): void {
    while (this.inProgress < this.o.maxConcurrentHandshakes && this.ready.length > 0) {
      const { socket, acceptedAt } = this.ready.shift()!;
      if (socket.destroyed || !this.pending.has(socket)) {
        this.pending.delete(socket);
        continue;
      }
      const left = this.o.handshakeTimeoutMs - (Date.now() - acceptedAt);
      if (left <= 0) {
        this.drop(socket, new TimeoutError('TLS handshake', this.o.handshakeTimeoutMs));
        continue;
      }
      this.handshake(socket, left);
    }
  }

  private handshake(socket: net.Socket, timeoutMs: number): void {
    this.inProgress++;
    let holding = true;
    const release = (): void => {
      if (!holding) return;
      holding = false;
      clearTimeout(hold);
      this.inProgress--;
      // Not from inside the settling callback: the next handshake's signature starts a fresh turn.
      setImmediate(() => this.pump());
    };
    const hold = setTimeout(release, SLOT_HOLD_MS);
    acceptLink(socket, this.o.tls, {
      handshakeTimeoutMs: timeoutMs,
      maxMessageBytes: this.o.maxMessageBytes,
      gatewayAlpns: this.o.gatewayAlpns,
      signal: this.abort.signal,
      log: this.o.log,
    }).then(
      (link) => {
        release();
        this.pending.delete(socket);
        this.o.onLink(link);
      },
      (err: Error) => {
        release();
        this.pending.delete(socket);
        socket.destroy();
        if (!this.abort.signal.aborted) this.o.onRejected({ reason: 'handshake failed', error: err });
      },
    );
  }

  private drop(socket: net.Socket, error: Error): void {
    if (!this.pending.delete(socket)) return;
    socket.destroy();
    if (!this.abort.signal.aborted) this.o.onRejected({ reason: 'handshake failed', error });
  }
}
