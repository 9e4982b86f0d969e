// Loopback networking for tests: free ports, waiting for a program to listen, an echo server, a tiny
// line client, and the error of a dial that must fail.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { firstMatch } from './first-match.js';

/**
 * A TCP port that was free a moment ago on 127.0.0.1 (the kernel picks it). For programs
 * that must be told a port; our own servers should listen on port 0 instead (listenLocal).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const serverSockets = new WeakMap<Server, Set<Socket>>();

/**
 * Listens on 127.0.0.1 on a kernel-chosen port; resolves with the port. The server's
 * connections are tracked so closeServer() can end them.
 */
export async function listenLocal(server: Server): Promise<number> {
  const sockets = new Set<Socket>();
  serverSockets.set(server, sockets);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as { port: number }).port;
}

/** A TCP server that sends every byte back (unlistened: listenLocal it, closeServer it). */
export function createEchoServer(): Server {
  return createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
}

/** Stops listening and destroys the connections still open (server from listenLocal). */
export async function closeServer(server: Server): Promise<void> {
  for (const s of serverSockets.get(server) ?? []) s.destroy();
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The error a dial (or any promise) rejects with; throws if it resolves instead. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the dial to fail');
}

function tryConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * Resolves once something accepts TCP connections on the port. Note that this probe is a
 * real connection: a program that serves only one client (openssl s_server -naccept 1)
 * would spend it, so wait on such a program's output instead.
 */
export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryConnect(port, host)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Connects once; rejects with the socket error (ECONNREFUSED, ...). */
export function connectTcp(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Lines of text over plain TCP (IRC, SOCKS-less line protocols, control ports). */
export interface LineClient {
  readonly socket: Socket;
  /** Every line received so far, without its CR LF / LF. */
  readonly lines: string[];
  send(line: string): Promise<void>;
  /** The first line (received so far or later) matching; `from` skips lines before that index. */
  waitForLine(matcher: RegExp | ((line: string) => boolean), timeoutMs: number, from?: number): Promise<string>;
  close(): Promise<void>;
}

export async function lineClient(port: number, host = '127.0.0.1', eol = '\r\n'): Promise<LineClient> {
  const socket = await connectTcp(port, host);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (s: string) => {
    partial += s;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) lines.push(p.replace(/\r$/, ''));
    for (const w of [...waiters]) w();
  });
  socket.on('close', () => {
    ended = true;
    for (const w of [...waiters]) w();
  });
  socket.on('error', () => {});
  return {
    socket,
    lines,
    send: (line) =>
      new Promise((resolve, reject) => socket.write(line + eol, (err) => (err ? reject(err) : resolve()))),
    waitForLine(matcher, timeoutMs, from = 0) {
      const test = typeof matcher === 'function' ? matcher : (l: string) => matcher.test(l);
      return firstMatch(lines, waiters, test, {
        from,
        timeoutMs,
        ended: () => (ended ? `connection closed before a line matched ${String(matcher)}; last lines:\n${lines.slice(-20).join('\n')}` : undefined),
        timedOut: () => `no line matched ${String(matcher)} within ${timeoutMs} ms; last lines:\n${lines.slice(-20).join('\n')}`,
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ended) return resolve();
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 2_000).unref();
      }),
  };
}

/** Calls `onLine` for each CRLF-terminated line the socket receives (a scripted control-port peer). */
export function onCrlfLines(sock: Socket, onLine: (line: string) => void): void {
  let buf = '';
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(line);
    }
  });
}
