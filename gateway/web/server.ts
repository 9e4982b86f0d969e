// The status page and web chat listener: HTTPS on loopback with the gateway's own server certificate
// (gateway/xmpp/local-ca.ts). Every request must name a loopback Host (DNS rebinding), must not come
// from another Origin (cross-site requests; RFC 6454), and, past the login, must carry the session.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import type { Logger } from 'pino';
import { runCommand, type CommandContext } from '../commands/index.js';
import { listenLogged } from '../xmpp/listen.js';
import type { ServerTls } from '../xmpp/local-ca.js';
import { LOOPBACK_HOSTS } from '../xmpp/rfc7395-websocket.js';
import { sessionCookie, WebAuth } from './auth.js';
import { CHAT_JS, STATUS_JS } from './client.js';
import type { StatusFeed } from './events.js';
import { APP_CSS, chatPage, loginPage, statusPage } from './pages.js';
import { qrSvg } from './qr.js';
import { isUploadPath, serveUpload } from './upload-routes.js';
import { UPLOAD_PATH, type UploadStore } from '../files/upload-store.js';

export interface ChatConfig {
  jid: string;
  password: string;
  websocketUrl: string;
}

export interface WebServerOptions {
  host: string;
  port: number;
  tls: Pick<ServerTls, 'certPem' | 'keyPem'>;
  auth: WebAuth;
  feed: StatusFeed;
  commands: CommandContext;
  /** What the built-in Converse.js logs in with; undefined when the WebSocket listener is off. */
  chatConfig(): Promise<ChatConfig | undefined>;
  /** The WebSocket port, for the page's connect-src. */
  websocketPort(): number | undefined;
  /** (Additive) XEP-0363 uploads served here (PUT and GET under /upload/); none: no upload routes. */
  uploads?: UploadStore;
  log: Logger;
}

const MAX_BODY_BYTES = 4096;
const REQUEST_TIMEOUT_MS = 15_000;
/** A whole request with an upload's body (a large file from a slow client). */
const UPLOAD_REQUEST_TIMEOUT_MS = 10 * 60_000;
const PEER_ID = /^[0-9a-f]{64}$/;

const requireHere = createRequire(import.meta.url);
/** Converse.js's prebuilt files, served as they are (the machine may be offline: no CDN). */
const CONVERSE_DIST = dirname(requireHere.resolve('converse.js/dist/converse.min.js'));
/** jsQR's browser bundle: the page reads a friend's QR code from the camera with it, on this machine. */
const JSQR_FILE = requireHere.resolve('jsqr/dist/jsQR.js');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.map': 'application/json',
};

export class WebServer {
  private https: Server | undefined;
  private _port: number | undefined;

  constructor(private readonly opts: WebServerOptions) {}

  get port(): number | undefined {
    return this._port;
  }

  /** The page's origins (one per loopback name): the WebSocket listener must let them connect. */
  origins(): string[] {
    return LOOPBACK_HOSTS.map((h) => `https://${h}:${this._port}`);
  }

  /** Where this listener is reached, e.g. https://127.0.0.1:5443 (a name its certificate and Host check accept). */
  baseUrl(): string {
    const host = this.opts.host.includes(':') ? '[::1]' : this.opts.host === 'localhost' ? 'localhost' : '127.0.0.1';
    return `https://${host}:${this._port}`;
  }

  /** A one-time login link (5 minutes), what `tlsim-gateway open` prints. */
  oneTimeLink(): string {
    return `${this.baseUrl()}/open?t=${this.opts.auth.oneTimeToken()}`;
  }

  async listen(): Promise<void> {
    const https = createServer({ cert: this.opts.tls.certPem, key: this.opts.tls.keyPem }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // An upload URL's token is its only key: not in the log.
        this.opts.log.error({ err, path: isUploadPath(req.url ?? '') ? UPLOAD_PATH : req.url }, 'status page request failed');
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    });
    https.requestTimeout = this.opts.uploads ? UPLOAD_REQUEST_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    https.headersTimeout = REQUEST_TIMEOUT_MS;
    https.on('tlsClientError', () => {});
    this._port = await listenLogged(https, this.opts.host, this.opts.port, this.opts.log, 'status page');
    this.https = https;
    this.opts.feed.start();
  }

  setTls(tls: Pick<ServerTls, 'certPem' | 'keyPem'>): void {
    this.https?.setSecureContext({ cert: tls.certPem, key: tls.keyPem });
  }

  async close(): Promise<void> {
    const https = this.https;
    this.https = undefined;
    this.opts.feed.stop();
    if (!https) return;
    await new Promise<void>((resolve) => {
      https.close(() => resolve());
      https.closeAllConnections();
    });
  }

  /** Why a request is refused before anything else, or undefined. `anyOrigin`: a route whose URL is its credential. */
  private refuse(req: IncomingMessage, anyOrigin = false): string | undefined {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!LOOPBACK_HOSTS.some((h) => host === `${h}:${this._port}`)) return 'host not allowed';
    if (anyOrigin) return undefined;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `https://${host}`) return 'origin not allowed';
    // A request that changes something must say it comes from this page (browsers always send Origin on POST).
    if (req.method !== 'GET' && req.method !== 'HEAD' && origin === undefined) return 'origin required';
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname;
    const upload = this.opts.uploads && isUploadPath(path) ? this.opts.uploads : undefined;
    const refused = this.refuse(req, upload !== undefined);
    if (refused) {
      this.opts.log.info({ host: req.headers.host, origin: req.headers.origin, reason: refused }, 'status page request refused');
      send(res, 403, 'text/plain', `forbidden: ${refused}\n`);
      return;
    }
    if (upload) return serveUpload(upload, req, res, path, this.opts.log);
    const { auth } = this.opts;
    if (req.method === 'GET' && path === '/assets/app.css') return send(res, 200, 'text/css; charset=utf-8', APP_CSS, true);
    if (req.method === 'GET' && path === '/login') return this.html(res, 200, loginPage());
    if (req.method === 'POST' && path === '/login') return this.login(req, res);
    if (req.method === 'GET' && path === '/open') {
      const session = auth.redeem(url.searchParams.get('t') ?? '');
      if (!session) return this.html(res, 401, loginPage('That link was used already or has expired. Log in with the password, or run "tlsim-gateway open" again.'));
      return redirect(res, '/', sessionCookie(session));
    }
    if (!auth.authenticated(req)) {
      if (req.method === 'GET' && !path.startsWith('/api/') && !path.endsWith('.svg')) return redirect(res, '/login');
      return send(res, 401, 'application/json', JSON.stringify({ ok: false, text: 'log in first' }));
    }
    if (req.method === 'POST' && path === '/logout') {
      auth.logout(req);
      return redirect(res, '/login', sessionCookie('', 0));
    }
    if (req.method === 'GET') {
      if (path === '/') return this.html(res, 200, statusPage());
      if (path === '/chat') return this.html(res, 200, chatPage(), true);
      if (path === '/assets/status.js') return send(res, 200, 'text/javascript; charset=utf-8', STATUS_JS, true);
      if (path === '/assets/chat.js') return send(res, 200, 'text/javascript; charset=utf-8', CHAT_JS, true);
      if (path === '/assets/jsqr.js') return this.file(res, JSQR_FILE);
      if (path === '/api/state') return send(res, 200, 'application/json', JSON.stringify(this.opts.feed.snapshot()));
      if (path === '/api/events') {
        if (!this.opts.feed.subscribe(res)) send(res, 503, 'text/plain', 'too many open status pages\n');
        return;
      }
      if (path === '/qr.svg') {
        const share = this.opts.feed.snapshot().share;
        if (!share) return send(res, 404, 'text/plain', 'no share string yet\n');
        return send(res, 200, 'image/svg+xml', await qrSvg(share));
      }
      if (path === '/api/chat-config') {
        const c = await this.opts.chatConfig();
        if (!c) return send(res, 409, 'application/json', JSON.stringify({ ok: false, text: 'the WebSocket listener is off (websocket.enabled)' }));
        return send(res, 200, 'application/json', JSON.stringify(c));
      }
      if (path.startsWith('/converse/')) return this.converseFile(res, path.slice('/converse/'.length));
    }
    if (req.method === 'POST' && path === '/api/contacts') return this.addContact(req, res);
    const answer = /^\/api\/requests\/([^/]+)\/(accept|deny)$/.exec(path);
    if (req.method === 'POST' && answer) {
      const [, id, verb] = answer;
      if (!PEER_ID.test(id!)) return send(res, 400, 'application/json', JSON.stringify({ ok: false, text: 'not a fingerprint' }));
      const result = await runCommand(this.opts.commands, verb!, { contact: id! });
      this.opts.log.info({ peer: id, verb, ok: result.ok }, 'contact request answered on the status page');
      this.opts.feed.tick();
      return send(res, result.ok ? 200 : 409, 'application/json', JSON.stringify({ ok: result.ok, text: result.text }));
    }
    send(res, 404, 'text/plain', 'not found\n');
  }

  /** "Add a friend": a share string typed, pasted or read from a QR code by the camera, and a name. */
  private async addContact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: { ok: boolean; text: string }) => send(res, status, 'application/json', JSON.stringify(body));
    const body = await readBody(req);
    if (body === undefined) return json(413, { ok: false, text: 'too large' });
    let form: { peer?: unknown; name?: unknown };
    try {
      form = JSON.parse(body) as typeof form;
    } catch {
      return json(400, { ok: false, text: 'the body is not JSON' });
    }
    if (typeof form.peer !== 'string' || (form.name !== undefined && typeof form.name !== 'string')) {
      return json(400, { ok: false, text: 'give "peer" (a share string) and optionally "name", as text' });
    }
    const result = await runCommand(this.opts.commands, 'add', { peer: form.peer, ...(form.name && { name: form.name }) });
    this.opts.log.info({ ok: result.ok }, 'contact added on the status page');
    this.opts.feed.tick();
    json(result.ok ? 200 : 400, { ok: result.ok, text: result.text });
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, 'text/plain', 'too large\n');
    const outcome = this.opts.auth.login(new URLSearchParams(body).get('password') ?? '');
    if (outcome.result === 'ok') return redirect(res, '/', sessionCookie(outcome.session));
    this.opts.log.warn({ remote: req.socket.remoteAddress }, 'status page: wrong password');
    const text = outcome.result === 'throttled' ? 'Too many wrong passwords: wait a minute.' : 'Wrong password.';
    this.html(res, outcome.result === 'throttled' ? 429 : 401, loginPage(text));
  }

  private html(res: ServerResponse, status: number, body: string, chat = false): void {
    const ws = this.opts.websocketPort();
    // CSP source expressions cannot name an IPv6 literal: the chat connects to 127.0.0.1 anyway.
    const connect = ["'self'", ...(ws ? [`ws://127.0.0.1:${ws}`, `ws://localhost:${ws}`] : [])].join(' ');
    res.setHeader(
      'content-security-policy',
      `default-src 'self'; connect-src ${connect}; img-src 'self' data: blob:; media-src 'self'; ` +
        // COMPAT(converse.js): its components set inline styles; its OMEMO library compiles WebAssembly.
        `style-src 'self'${chat ? " 'unsafe-inline'" : ''}; script-src 'self'${chat ? " 'wasm-unsafe-eval'" : ''}; ` +
        `worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    );
    send(res, status, 'text/html; charset=utf-8', body);
  }

  private async converseFile(res: ServerResponse, rel: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      return send(res, 400, 'text/plain', 'bad path\n');
    }
    const file = normalize(join(CONVERSE_DIST, decoded));
    if (!file.startsWith(CONVERSE_DIST + sep) || decoded.includes('\0')) return send(res, 404, 'text/plain', 'not found\n');
    return this.file(res, file);
  }

  /** One file of a package, streamed with a day's private cache. */
  private async file(res: ServerResponse, file: string): Promise<void> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return send(res, 404, 'text/plain', 'not found\n');
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'private, max-age=86400',
      'x-content-type-options': 'nosniff',
    });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, cache = false): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': cache ? 'private, max-age=300' : 'no-store',
    'x-content-type-options': 'nosniff',
    // Not no-referrer: with it a browser sends "Origin: null" on the page's own form posts.
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
  });
  res.end(body);
}

function redirect(res: ServerResponse, to: string, cookie?: string): void {
  res.writeHead(303, { location: to, 'cache-control': 'no-store', ...(cookie && { 'set-cookie': cookie }) });
  res.end();
}

/** The request body as text, or undefined past MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
