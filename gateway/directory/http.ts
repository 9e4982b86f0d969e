// GET /foaf: the public FOAF profile as text/turtle for any RDF tool (issue 13), on a loopback listener meant to sit
// behind the onion service's second virtual port. Serves exactly what the user published, nothing else. And the
// crawler's side: fetch another gateway's /foaf over a socket the bridge connects (Tor SOCKS for an onion).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

export interface FoafServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface FoafServerOptions {
  host: string;
  port: number;
  /** The profile, written at each request (so a change shows at once). */
  turtle: () => string;
  log: Logger;
}

export const FOAF_PATH = '/foaf';
export const TURTLE_TYPE = 'text/turtle; charset=utf-8';

export async function startFoafServer(opts: FoafServerOptions): Promise<FoafServer> {
  const server: Server = createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== FOAF_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the profile is at /foaf\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('only GET\n');
      return;
    }
    let body: string;
    try {
      body = opts.turtle();
    } catch (err) {
      opts.log.error({ err }, 'cannot write the FOAF profile');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('the profile cannot be written now\n');
      return;
    }
    res.writeHead(200, { 'content-type': TURTLE_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  // A request never carries a body we read; a slow or idle client is dropped by the timeouts above.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ host: opts.host, port }, 'FOAF profile served at /foaf');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FetchOutcome = { kind: 'turtle'; text: string } | { kind: 'none'; reason: string };

/**
 * GET <url> (http, path /foaf only: a voucher's URL must not make us fetch anything else) over the socket `connect`
 * gives, reading at most maxBytes + 1 (the parser then refuses a document over the limit). Never throws.
 */
export async function fetchFoaf(
  url: string,
  maxBytes: number,
  connect: (host: string, port: number) => Promise<Duplex>,
  timeoutMs = 60_000,
): Promise<FetchOutcome> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { kind: 'none', reason: 'not a URL' };
  }
  if (u.protocol !== 'http:' || u.pathname !== FOAF_PATH || u.username || u.password) return { kind: 'none', reason: `not a profile URL (http://host:port${FOAF_PATH})` };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : 80;
  let socket: Duplex;
  try {
    socket = await connect(host, port);
  } catch (err) {
    return { kind: 'none', reason: `unreachable: ${(err as Error).message}` };
  }
  return new Promise<FetchOutcome>((resolve) => {
    const req = request({ host, port, path: FOAF_PATH, method: 'GET', headers: { accept: 'text/turtle' }, createConnection: () => socket as never, timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ kind: 'none', reason: `HTTP ${res.statusCode ?? '?'}` });
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        parts.push(chunk);
        if (size > maxBytes) {
          // Enough to say it is too large; the rest is never read.
          req.destroy();
          resolve({ kind: 'turtle', text: Buffer.concat(parts).toString('utf8') });
        }
      });
      res.on('end', () => resolve({ kind: 'turtle', text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', (err) => resolve({ kind: 'none', reason: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ kind: 'none', reason: `HTTP: ${err.message}` }));
    req.end();
  });
}
