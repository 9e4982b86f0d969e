// A TCP relay on loopback between two programs, for tests that must cut a link at a chosen moment or slow it to
// a known rate (so "halfway through a transfer" is a moment a test can catch). Counts what it carried.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { listenLocal, closeServer } from './net.js';

export interface TcpProxy {
  port: number;
  /** Bytes relayed so far, both directions. */
  readonly bytes: number;
  /** Resets every relayed connection (both sides see a dead link). */
  cut(): void;
  /** true: cuts, and resets every new connection until hold(false) (the far side is unreachable meanwhile). */
  hold(on: boolean): void;
  close(): Promise<void>;
}

/** Relays 127.0.0.1:<port> to 127.0.0.1:<target>; `bytesPerSecond` caps each direction of each connection. */
export async function tcpProxy(target: number, opts: { bytesPerSecond?: number } = {}): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let bytes = 0;
  let held = false;
  const rate = opts.bytesPerSecond;
  const pipe = (from: Socket, to: Socket): void => {
    let windowStart = Date.now();
    let inWindow = 0;
    from.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      to.write(chunk);
      if (!rate) return;
      const now = Date.now();
      if (now - windowStart >= 100) {
        windowStart = now;
        inWindow = 0;
      }
      inWindow += chunk.length;
      if (inWindow >= rate / 10) {
        from.pause();
        setTimeout(() => from.resume(), 100 - (now - windowStart)).unref();
      }
    });
    from.on('end', () => to.end());
  };
  const server: Server = createServer((client) => {
    if (held) return void client.resetAndDestroy();
    const upstream = connect({ host: '127.0.0.1', port: target });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const done = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  const port = await listenLocal(server);
  const cut = (): void => {
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port,
    get bytes() {
      return bytes;
    },
    cut,
    hold(on) {
      held = on;
      if (on) cut();
    },
    async close() {
      cut();
      await closeServer(server);
    },
  };
}
