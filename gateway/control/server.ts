// The gateway's end of the control socket: the CLI asks a running gateway for its status or runs a
// peer command on the live network. Owner-only (0600 socket in a 0700 directory); one request per connection.
import { chmod } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  MAX_REQUEST_BYTES,
  REQUEST_TIMEOUT_MS,
  parseRequest,
  type ControlRequest,
  type ControlResponse,
} from './protocol.js';

export interface ControlServerOptions {
  path: string;
  log: Logger;
  handle(req: ControlRequest): Promise<ControlResponse>;
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

/** Only the CLI talks here; a handful at once is plenty. */
const MAX_CONNECTIONS = 16;

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const { path, log } = opts;
  const open = new Set<Socket>();
  // We hold the data directory lock, so a socket file left here is a crashed gateway's.
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    serve(socket, opts).catch((err: unknown) => log.warn({ err }, 'control request failed'));
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = path.length > 100 ? ` (the path is ${path.length} bytes; unix sockets allow about 107: use a shorter --data-dir)` : '';
      reject(new Error(`cannot open the control socket ${path}: ${err.message}${hint}`, { cause: err }));
    });
    server.listen(path, () => resolve());
  });
  server.on('error', (err) => log.error({ err }, 'control socket error'));
  // The directory is 0700 already; the socket is tightened too in case it is ever moved out.
  await chmod(path, 0o600);
  log.debug({ path }, 'control socket listening');
  return {
    path,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      });
      rmSync(path, { force: true });
    },
  };
}

async function serve(socket: Socket, opts: ControlServerOptions): Promise<void> {
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  const line = await readLine(socket);
  if (line === undefined) return;
  let response: ControlResponse;
  let request: ControlRequest | undefined;
  try {
    request = parseRequest(JSON.parse(line));
  } catch {
    request = undefined;
  }
  if (!request) {
    response = { ok: false, error: 'not a control request' };
  } else {
    // The answer may take a while (a command waits on the store): no idle cut meanwhile.
    socket.setTimeout(0);
    try {
      response = await opts.handle(request);
    } catch (err) {
      opts.log.warn({ err, op: request.op }, 'control request failed');
      response = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
  if (!socket.destroyed) socket.end(`${JSON.stringify(response)}\n`);
}

/** The first line, or undefined when the client goes away, sends too much, or nothing in time. */
function readLine(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: string | undefined): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) return done(buf.slice(0, nl));
      if (buf.length > MAX_REQUEST_BYTES) {
        socket.end(`${JSON.stringify({ ok: false, error: 'request too large' })}\n`);
        done(undefined);
      }
    };
    const onClose = (): void => done(undefined);
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
