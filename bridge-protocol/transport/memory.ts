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

/** Two connected streams: what one writes the other reads; end and destroy reach the other side. */
export function memoryDuplexPair(): [Duplex, Duplex] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
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
