// In-memory transport: a connected pair of streams, enough to run TLS and whole links in tests without sockets.
import { Duplex } from 'node:stream';
import { AbortError } from '../errors.js';
import type { DialTarget, Dialer } from './types.js';

/** One end of the pair. What it writes is pushed to its peer; flow control follows the reader. */
class MemoryEnd extends Duplex {
  peer: MemoryEnd | undefined;
  /** A write waiting until the peer's reader asks for more (backpressure). */
  private waitingWrite: (() => void) | undefined;

  constructor() {
    // Like a TCP socket by default: when the other side ends, we end our side too.
    super({ allowHalfOpen: false });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) {
      callback(Object.assign(new Error('write after the other end was closed'), { code: 'EPIPE' }));
      return;
    }
    // Copy: the writer may reuse its buffer after the callback, as it may with a socket.
    if (peer.push(Buffer.from(chunk))) callback();
    else peer.onRead(callback);
  }

  override _read(): void {
    const release = this.waitingWrite;
    this.waitingWrite = undefined;
    release?.();
  }

  onRead(release: () => void): void {
    this.waitingWrite = release;
  }

  override _final(callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer && !peer.destroyed) peer.push(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // Like a reset: the other side goes away too, without an error it would have to handle.
    if (peer && !peer.destroyed) {
      peer.peer = undefined;
      process.nextTick(() => peer.destroy());
    }
    const release = this.waitingWrite;
    this.waitingWrite = undefined;
    release?.();
    callback(err);
  }
}

export interface MemoryPairOptions {
  /** Each chunk reaches the other end this much later (default: at once). */
  latencyMs?: number;
  /**
   * false: like a stream through Tor, which has no half-close. When one end ends its writing (FIN) or is
   * destroyed, its relay closes it at once and tells the other side: the other end still gets what was on
   * its way to it, then EOF, then is closed too; what was on its way to the end that closed is dropped, and
   * so is whatever the other end writes after. Default true (TCP: each direction ends on its own).
   */
  halfClose?: boolean;
}

/** One end of a pair relayed with a delay, with TCP's or Tor's way of closing; no backpressure. */
class RelayedEnd extends Duplex {
  peer!: RelayedEnd;
  /** Chunks on their way to us are still delivered. */
  private receiving = true;
  /** What we write still reaches the peer. */
  private sending = true;

  constructor(
    private readonly latencyMs: number,
    private readonly halfClose: boolean,
  ) {
    super({ allowHalfOpen: false });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.sending) {
      const copy = Buffer.from(chunk);
      const peer = this.peer;
      this.later(() => peer.arrive(copy));
    }
    // A write into a stream the relay already closed vanishes (the kernel took it).
    callback();
  }

  override _read(): void {}

  override _final(callback: (err?: Error | null) => void): void {
    this.hangUp();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.hangUp();
    callback(err);
  }

  private later(fn: () => void): void {
    setTimeout(fn, this.latencyMs);
  }

  private arrive(chunk: Buffer | null): void {
    if (this.receiving && !this.destroyed) this.push(chunk);
  }

  private hangUp(): void {
    if (!this.sending) return;
    this.sending = false;
    const peer = this.peer;
    if (this.halfClose) {
      // TCP: our FIN follows our data; the other direction goes on.
      this.later(() => peer.arrive(null));
      return;
    }
    // Tor: one END for the whole stream. What the peer has on its way to us is lost, and so is what it
    // writes from now on; it gets our data, then EOF, then its relay closes it.
    this.receiving = false;
    peer.sending = false;
    this.later(() => {
      peer.arrive(null);
      peer.receiving = false;
      if (!peer.destroyed) setImmediate(() => peer.destroy());
    });
    // Our own relay closes our connection at once.
    if (!this.destroyed) {
      process.nextTick(() => {
        this.push(null);
        this.destroy();
      });
    }
  }
}

/**
 * Two connected streams: what one writes the other reads; end and destroy reach the other side. With
 * options, each chunk is delayed and closing may behave like Tor's (see MemoryPairOptions).
 */
export function memoryDuplexPair(opts: MemoryPairOptions = {}): [Duplex, Duplex] {
  if (opts.latencyMs === undefined && opts.halfClose === undefined) {
    const a = new MemoryEnd();
    const b = new MemoryEnd();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }
  const a = new RelayedEnd(opts.latencyMs ?? 0, opts.halfClose ?? true);
  const b = new RelayedEnd(opts.latencyMs ?? 0, opts.halfClose ?? true);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * A dialer that "connects" in memory: `listen` receives the accepting end (e.g. to wrap it in
 * a TLS server socket) and the target that was dialed.
 */
export function memoryDialer(listen: (server: Duplex, target: DialTarget) => void): Dialer {
  return async (target, opts = {}) => {
    if (opts.signal?.aborted) throw new AbortError(`connecting to ${target.host}:${target.port}`);
    const [client, server] = memoryDuplexPair();
    listen(server, target);
    return client;
  };
}
