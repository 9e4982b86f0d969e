// Fuzzing the XEP-0363 file upload (gateway/features/xep-0363-http-upload.ts, gateway/files/upload-store.ts,
// gateway/web/upload-routes.ts): slot requests with any file name, size and content-type text over XMPP, then raw
// HTTP/1.1 requests over TLS to the real status page listener on loopback (any method, path tricks, Content-Length
// and Content-Type right or not, ranges, bodies longer, shorter or chunked), against a model of what XEP-0363 §4-5
// and the store's limits say. Properties: every request gets the model's HTTP status (and every slot request its
// stanza error); only a valid slot stores, exactly its bytes, and GET gives them back; nothing outside the upload
// directory is touched; the quota and the size limit hold exactly; nothing is ever logged as an escaped error.
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { SLOT_TTL_MS, UploadStore, cleanContentType, cleanFileName } from '../../gateway/files/upload-store.js';
import { openStore } from '../../gateway/store/index.js';
import { WebAuth } from '../../gateway/web/auth.js';
import type { StatusFeed } from '../../gateway/web/events.js';
import { WebServer } from '../../gateway/web/server.js';
import { x } from '../../gateway/xmpp/xml/element.js';
import { startTestGateway, stanzaErrorOf, type TestClient, type TestGateway } from '../support/xmpp-harness.js';
import { fuzzTarget } from './support.js';

const UPLOAD = 'urn:xmpp:http:upload:0';
const MAX_FILE = 1500;
const QUOTA = 2500;
const EXPIRY_MS = 3_600_000;
const TOKEN = /^[A-Za-z0-9_-]{32}$/;

interface Env {
  gw: TestGateway;
  me: TestClient;
  files: UploadStore;
  web: WebServer;
  port: number;
  ca: string;
  dataDir: string;
  /** What was logged at error level or above (an exception that escaped a route). */
  errors: string[];
  clock: { now: number };
}

let started: Promise<Env> | undefined;
const env = (): Promise<Env> => (started ??= start());
async function start(): Promise<Env> {
  const clock = { now: 1_000_000 };
  const errors: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void ((JSON.parse(line) as { level: number }).level >= 50 && errors.push(line)) });
  // A data directory of the store's own (in a directory of its own, where a canary sits beside it).
  const dataDir = join(await mkdtemp(join(tmpdir(), 'tlsim-upload-fuzz-')), 'files');
  await mkdir(dataDir);
  const store = openStore(dataDir);
  store.accounts.ensure('me@localhost');
  const limits = { maxFileBytes: MAX_FILE, quotaBytes: QUOTA, expiryMs: EXPIRY_MS };
  const files = new UploadStore({ store, dataDir, limits, log, now: () => clock.now });
  await files.open();
  const gw = await startTestGateway({ server: { files: files.forAccount(1) } });
  const feed = { start() {}, stop() {}, snapshot: () => ({}), subscribe: () => false } as unknown as StatusFeed;
  const web = new WebServer({
    host: '127.0.0.1', port: 0, tls: gw.tls, auth: new WebAuth({ verifyPassword: () => false }), feed,
    commands: { network: gw.network, peerDomain: gw.peerDomain } as never, chatConfig: async () => undefined, websocketPort: () => undefined, uploads: files, log,
  });
  await web.listen();
  files.setBaseUrl(web.baseUrl());
  // Canaries where a path trick would land: beside the uploads, and beside the data directory.
  await writeFile(join(dataDir, 'canary'), 'canary');
  await writeFile(join(dirname(dataDir), 'canary'), 'canary');
  const me = await gw.login();
  return { gw, me, files, web, port: web.port!, ca: gw.tls.caCertPem, dataDir, errors, clock };
}
afterAll(async () => {
  const e = await started;
  await e?.web.close();
  await e?.gw.stop();
  if (e) await rm(dirname(e.dataDir), { recursive: true, force: true });
});

// ---- raw HTTP/1.1 over TLS ---------------------------------------------------------------------------------------

let session: Buffer | undefined;
interface Reply {
  status: number | undefined;
  headers: Record<string, string>;
  body: Buffer;
}

/** One request on its own connection (Connection: close); `end` half-closes after the bytes (a body cut short). */
async function request(e: Env, head: string, body: Buffer, end: boolean): Promise<Reply> {
  const sock: TLSSocket = connect({ host: '127.0.0.1', port: e.port, ca: e.ca, servername: 'localhost', ...(session && { session }) });
  sock.on('session', (s: Buffer) => (session = s));
  const got: Buffer[] = [];
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('error', () => {});
  await once(sock, 'secureConnect');
  sock.write(head);
  if (body.length > 0) sock.write(body);
  if (end) sock.end();
  const closed = once(sock, 'close');
  const timer = setTimeout(() => sock.destroy(), 3000);
  await closed;
  clearTimeout(timer);
  const all = Buffer.concat(got);
  const at = all.indexOf('\r\n\r\n');
  if (at < 0) return { status: undefined, headers: {}, body: all };
  const [status, ...lines] = all.subarray(0, at).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(status!)?.[1]), headers, body: all.subarray(at + 4) };
}

// ---- what the client does ----------------------------------------------------------------------------------------

const nameText = fc.oneof(
  fc.constantFrom('notes.txt', '../../canary', '..', '.', '/', 'a/../../canary', 'C:\\Windows\\x.ini', '  ', '', 'ü ö.png', '%2e%2e%2fcanary', 'a\u202etxt.exe'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 250, maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const sizeText = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: MAX_FILE + 2 }), fc.constantFrom(0, MAX_FILE, MAX_FILE + 1)).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('', '-1', '1e3', '0x10', ' 5', '5 ', '9'.repeat(15), '9'.repeat(16), '1.5', '+3', '٣') },
);
const typeText = fc.option(fc.oneof(fc.constantFrom('text/plain', 'image/png', 'text/plain; charset=utf-8', 'application/octet-stream', '', 'bad type', 'a/b\r\nx: y', 'text/html'), fc.string({ maxLength: 30 })), { nil: undefined });

const slotOp = fc.record({ op: fc.constant('slot' as const), name: fc.option(nameText, { nil: undefined }), size: sizeText, type: typeText });
type SlotOp = typeof slotOp extends fc.Arbitrary<infer T> ? T : never;

type Target = { kind: 'slot'; i: number; mutation: 'none' | 'other-token' | 'one-char' | 'short' | 'dotdot' | 'double-slash' | 'query' | 'encoded' | 'no-name' } | { kind: 'raw'; path: string };
const target: fc.Arbitrary<Target> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('slot' as const),
      i: fc.nat(),
      mutation: fc.oneof(
        { weight: 6, arbitrary: fc.constant('none' as const) },
        { weight: 2, arbitrary: fc.constantFrom('other-token', 'one-char', 'short', 'dotdot', 'double-slash', 'query', 'encoded', 'no-name') },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), path: fc.constantFrom('/upload/', '/upload/../canary', '/upload/%2e%2e/canary', '/upload/..%2fcanary', '/upload//', '/upload/' + 'A'.repeat(32), '/upload/' + 'A'.repeat(32) + '/../../canary', '/uploads/x', '/upload') }) },
);
const httpOp = fc.record({
  op: fc.constant('http' as const),
  method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('PUT', 'PUT', 'PUT', 'GET', 'GET', 'HEAD') }, { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'POST', 'DELETE', 'PATCH', 'put', 'PROPFIND') }),
  target,
  /** Content-Length: the slot's size, one more or less, none (chunked or no body), or a bad spelling. */
  length: fc.oneof({ weight: 8, arbitrary: fc.constant('size' as const) }, { weight: 3, arbitrary: fc.constantFrom('size+1' as const, 'size-1' as const, 'none' as const, 'chunked' as const) }, { weight: 1, arbitrary: fc.constantFrom(' 0', '1e1', '-1', 'abc') }),
  /** The body against what Content-Length says: as long, longer, shorter (and the client gives up). */
  body: fc.oneof({ weight: 8, arbitrary: fc.constant('exact' as const) }, { weight: 1, arbitrary: fc.constantFrom('longer' as const, 'shorter' as const) }),
  type: fc.oneof({ weight: 8, arbitrary: fc.constant('same' as const) }, { weight: 2, arbitrary: fc.constantFrom('none' as const, 'other' as const, 'spaced' as const) }),
  range: fc.constantFrom(undefined, undefined, undefined, 'bytes=0-1', 'bytes=-5', 'bytes=x'),
  origin: fc.constantFrom(undefined, undefined, undefined, 'https://evil.example'),
  host: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'evil'),
  seed: fc.nat(),
});
type HttpOp = typeof httpOp extends fc.Arbitrary<infer T> ? T : never;
const timeOp = fc.record({ op: fc.constant('time' as const), ms: fc.constantFrom(1000, SLOT_TTL_MS, EXPIRY_MS + 1), sweep: fc.boolean() });
type TimeOp = typeof timeOp extends fc.Arbitrary<infer T> ? T : never;
type Op = SlotOp | HttpOp | TimeOp;
/** Slots first (mostly valid ones), then anything: requests to slots that exist are where the store does its work. */
const goodSlot = fc.record({ op: fc.constant('slot' as const), name: nameText.filter((n) => n.trim() !== ''), size: fc.oneof(fc.nat({ max: 64 }).map(String), fc.nat({ max: MAX_FILE }).map(String), fc.constantFrom('fill', 'fill+1')), type: typeText });
const script: fc.Arbitrary<Op[]> = fc
  .tuple(fc.array(fc.oneof({ weight: 4, arbitrary: goodSlot }, { weight: 1, arbitrary: slotOp }), { minLength: 1, maxLength: 3 }), fc.array(fc.oneof({ weight: 2, arbitrary: slotOp }, { weight: 8, arbitrary: httpOp }, { weight: 1, arbitrary: timeOp }), { maxLength: 12 }))
  .map(([slots, rest]) => [...slots, ...rest]);

// ---- the model ---------------------------------------------------------------------------------------------------

interface Slot {
  token: string;
  path: string;
  size: number;
  type: string;
  /** Its bytes once stored. */
  bytes: Buffer | undefined;
  slotExpires: number;
  fileExpires: number;
  /** Gone from the store (swept). */
  gone: boolean;
}

function bytesOf(seed: number, n: number): Buffer {
  const out = Buffer.alloc(Math.max(0, n));
  for (let i = 0, v = seed; i < out.length; i++) out[i] = v = (v * 1103515245 + 12345) >>> 8;
  return out;
}

async function slotRequest(e: Env, o: SlotOp, slots: Slot[]): Promise<void> {
  const used = slots.filter((s) => !s.gone).reduce((n, s) => n + s.size, 0);
  // 'fill': exactly what is left of the quota (and one more), for the quota's edge.
  const op = o.size === 'fill' || o.size === 'fill+1' ? { ...o, size: String(Math.max(0, QUOTA - used) + (o.size === 'fill' ? 0 : 1)) } : o;
  const attrs: Record<string, string> = { xmlns: UPLOAD, size: op.size };
  if (op.name !== undefined) attrs.filename = op.name;
  if (op.type !== undefined) attrs['content-type'] = op.type;
  const reply = await e.me.iq(x('request', attrs), { to: 'upload.localhost' });
  // XML cannot carry every character: the gateway gets U+FFFD for those (gateway/xmpp/xml/element.ts).
  const sentName = op.name?.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  const size = /^[0-9]{1,15}$/.test(op.size) ? Number(op.size) : undefined;
  const cond = stanzaErrorOf(reply);
  const want = !sentName || sentName.trim() === '' || size === undefined ? 'bad-request' : size > MAX_FILE ? 'not-acceptable' : used + size > QUOTA ? 'resource-constraint' : undefined;
  if (cond !== want) throw new Error(`slot ${JSON.stringify(op)} (used ${used}): expected ${want ?? 'a slot'}, got ${reply.toString().slice(0, 500)}`);
  if (want === 'not-acceptable' && reply.getChild('error')!.getChild('file-too-large', UPLOAD)?.getChildText('max-file-size') !== String(MAX_FILE)) throw new Error('file-too-large without max-file-size');
  if (want === 'resource-constraint' && reply.getChild('error')!.attrs.type !== 'wait') throw new Error('quota error not of type wait');
  if (want) return;
  const put = reply.getChild('slot', UPLOAD)!.getChild('put')!.attrs.url!;
  const get = reply.getChild('slot', UPLOAD)!.getChild('get')!.attrs.url!;
  const url = new URL(put);
  const [, upload, token, file, ...rest] = url.pathname.split('/');
  if (put !== get || url.origin !== e.web.baseUrl() || upload !== 'upload' || !TOKEN.test(token!) || rest.length > 0 || decodeURIComponent(file!) !== cleanFileName(sentName!)) {
    throw new Error(`slot URL ${put} for ${JSON.stringify(sentName)}`);
  }
  slots.push({ token: token!, path: url.pathname, size: size!, type: cleanContentType(op.type ?? ''), bytes: undefined, slotExpires: e.clock.now + SLOT_TTL_MS, fileExpires: 0, gone: false });
}

function pathOf(t: Target, slot: Slot | undefined): string {
  if (t.kind === 'raw') return t.path;
  if (!slot) return `/upload/${'B'.repeat(32)}/x`;
  const [, , token, name] = slot.path.split('/');
  switch (t.mutation) {
    case 'none':
      return slot.path;
    case 'other-token':
      return `/upload/${'C'.repeat(32)}/${name}`;
    case 'one-char':
      return `/upload/${token!.slice(0, 31)}${token!.endsWith('A') ? 'B' : 'A'}/${name}`;
    case 'short':
      return `/upload/${token!.slice(0, 31)}/${name}`;
    case 'dotdot':
      return `/upload/${token}/../../canary`;
    case 'double-slash':
      return `/upload//${token}/${name}`;
    case 'query':
      return `${slot.path}?x=1&y=/../`;
    case 'encoded':
      return `/upload/${token!.slice(0, 16)}%2F${token!.slice(16)}/${name}`;
    case 'no-name':
      return `/upload/${token}`;
  }
}

/** The path the listener routes by: the URL standard's (dot segments, also as %2e, go; the query goes). */
const routed = (path: string): string => new URL(path, 'https://localhost').pathname;
/** The token the route reads from a path: the first segment after /upload/. */
function tokenIn(path: string): string {
  const p = routed(path);
  return p.startsWith('/upload/') ? (p.slice('/upload/'.length).split('/')[0] ?? '') : '';
}

/** Until no PUT of `token` runs on the server's side (white-box: the store's own set of PUTs in progress). */
async function settled(e: Env, token: string): Promise<void> {
  const putting = (e.files as unknown as { putting: Set<string> }).putting;
  for (let i = 0; i < 300 && putting.has(token); i++) await new Promise((r) => setTimeout(r, 10));
  if (putting.has(token)) throw new Error(`a PUT of ${token} is still running 3 s after its client went`);
}

async function httpRequest(e: Env, op: HttpOp, slots: Slot[]): Promise<void> {
  const slot = slots.length > 0 && op.target.kind === 'slot' ? slots[op.target.i % slots.length] : undefined;
  const path = pathOf(op.target, slot);
  const bySlot = slots.find((s) => s.token === tokenIn(path));
  const size = bySlot?.size ?? slot?.size ?? 3;
  const length = op.length === 'size' ? String(size) : op.length === 'size+1' ? String(size + 1) : op.length === 'size-1' ? String(Math.max(0, size - 1)) : op.length === 'none' || op.length === 'chunked' ? undefined : op.length;
  // Node's HTTP parser trims the header's spaces (RFC 9110 §5.5) and answers any other bad Content-Length itself.
  const declared = length !== undefined && /^[0-9]+$/.test(length.trim()) ? Number(length) : undefined;
  const badLength = length !== undefined && declared === undefined;
  const n = op.length === 'chunked' ? size : (declared ?? 0);
  const bytes = bytesOf(op.seed, op.body === 'longer' ? n + 1 + (op.seed % 5) : op.body === 'shorter' ? Math.max(0, n - 1) : n);
  const type = op.type === 'same' ? (bySlot?.type ?? slot?.type ?? 'text/plain') : op.type === 'other' ? 'image/x-other' : op.type === 'spaced' ? ` ${bySlot?.type ?? 'text/plain'} ` : undefined;
  const host = op.host === 'ok' ? `127.0.0.1:${e.port}` : 'evil.example';
  const lines = [`${op.method} ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  if (length !== undefined) lines.push(`Content-Length: ${length}`);
  if (op.length === 'chunked') lines.push('Transfer-Encoding: chunked');
  if (type !== undefined) lines.push(`Content-Type: ${type}`);
  if (op.range) lines.push(`Range: ${op.range}`);
  if (op.origin) lines.push(`Origin: ${op.origin}`);
  const body = op.length === 'chunked' ? Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')]) : bytes;
  const cutShort = op.body === 'shorter' && op.length !== 'chunked' && declared !== undefined && declared > 0;
  const reply = await request(e, `${lines.join('\r\n')}\r\n\r\n`, op.length === 'chunked' && op.body === 'shorter' ? body.subarray(0, body.length - 5) : body, cutShort || (op.length === 'chunked' && op.body === 'shorter'));

  // What the model expects.
  const what = `${op.method} ${path} ${JSON.stringify({ length, body: op.body, type, n: bytes.length })}`;
  const fail = (want: unknown) => new Error(`${what}: expected ${want}, got ${reply.status} ${reply.body.toString().slice(0, 200)}`);
  const now = e.clock.now;
  // Methods are case-sensitive (RFC 9110 §9.1): Node's parser refuses "put" itself, as any malformed request.
  if (badLength || op.method === 'put') {
    if (reply.status !== 400) throw fail(400);
    return;
  }
  if (cutShort || (op.length === 'chunked' && op.body === 'shorter')) {
    // The client gave up mid-request: it may see nothing, or any answer (Node's parser answers the cut request with
    // 400 when the EOF comes first); nothing is stored for it, and a slot is not used up (the disk check says so).
    if (reply.status === 201) throw fail('no 201');
    // Its PUT may still be ending on the server's side (a second PUT meanwhile is 409): the next request waits for it.
    await settled(e, tokenIn(path));
    return;
  }
  if (op.host !== 'ok') {
    if (reply.status !== 403) throw fail(403);
    return;
  }
  if (!routed(path).startsWith('/upload/')) {
    // Not an upload route: the status page (a login redirect or 401), never a file.
    if (reply.status === undefined || reply.status === 201 || (reply.status === 200 && op.method !== 'GET')) throw fail('a status page answer');
    return;
  }
  const token = tokenIn(path);
  const s = TOKEN.test(token) ? slots.find((x) => x.token === token && !x.gone) : undefined;
  if (op.method === 'OPTIONS') {
    if (reply.status !== 204) throw fail(204);
    return;
  }
  if (op.method === 'PUT') {
    const expired = s !== undefined && (s.bytes === undefined ? s.slotExpires : s.fileExpires) <= now;
    const want = !s || expired ? 404 : s.bytes !== undefined ? 409 : declared !== s.size ? (declared !== undefined && declared > s.size ? 413 : 400) : cleanContentType(type) !== s.type ? 400 : 201;
    // Bytes past Content-Length are the next request to HTTP/1.1: Node's parser may answer that garbage (400) first
    // and close the connection, before or after this PUT read its body; the slot is used or not, which the store says.
    const masked = op.body === 'longer' && op.length !== 'chunked' && reply.status === 400;
    if (reply.status !== want && !masked) throw fail(want);
    if (masked && want === 201) await settled(e, s!.token);
    if (want === 201 && s && (!masked || e.files.stored(s.token))) {
      s.bytes = bytes.subarray(0, s.size);
      s.fileExpires = now + EXPIRY_MS;
    }
    return;
  }
  if (op.method === 'GET' || op.method === 'HEAD') {
    const stored = s && s.bytes !== undefined && s.fileExpires > now;
    if (!stored) {
      if (reply.status !== 404) throw fail(404);
      return;
    }
    if (reply.status !== 200 || reply.headers['content-length'] !== String(s.size) || reply.headers['content-type'] !== s.type) throw fail(`200 with ${s.size} bytes of ${s.type}`);
    if (op.method === 'GET' && !reply.body.equals(s.bytes!)) throw fail('the stored bytes');
    if (op.method === 'HEAD' && reply.body.length !== 0) throw fail('no body');
    return;
  }
  if (reply.status !== 405 || !reply.headers.allow) throw fail('405 with Allow');
}

/** Only token-named files (and no .part once every request is answered) in uploads/, the canaries untouched. */
async function checkDisk(e: Env, slots: Slot[]): Promise<void> {
  const names = await readdir(e.files.dir);
  const stored = new Set(slots.filter((s) => s.bytes !== undefined && !s.gone).map((s) => s.token));
  for (const n of names) if (!stored.has(n)) throw new Error(`unexpected file in uploads/: ${n}`);
  for (const s of slots) if (s.bytes !== undefined && !s.gone && !(await readFile(e.files.pathOf(s.token))).equals(s.bytes)) throw new Error(`file ${s.token} is not its bytes`);
  for (const c of [join(e.dataDir, 'canary'), join(dirname(e.dataDir), 'canary')]) if ((await readFile(c, 'utf8')) !== 'canary') throw new Error(`${c} changed`);
}

async function run(ops: readonly Op[]): Promise<void> {
  const e = await env();
  const slots: Slot[] = [];
  try {
    for (const op of ops) {
      if (op.op === 'slot') await slotRequest(e, op, slots);
      else if (op.op === 'http') await httpRequest(e, op, slots);
      else {
        e.clock.now += op.ms;
        if (op.sweep) {
          await e.files.sweep();
          for (const s of slots) if ((s.bytes === undefined ? s.slotExpires : s.fileExpires) <= e.clock.now) s.gone = true;
        }
      }
      if (e.errors.length > 0) throw new Error(`logged as an error: ${e.errors.join('\n')}`);
    }
    // A PUT given up mid-body may still be finishing on the server's side: let it end before looking at the disk.
    await new Promise((r) => setTimeout(r, 20));
    await checkDisk(e, slots);
  } finally {
    for (const s of slots) await e.files.remove(s.token);
    e.errors.length = 0;
    e.me.received.length = 0;
  }
}

fuzzTarget('http-upload', (t) => {
  t.asyncProperty('slot requests and any HTTP requests get the model\'s answers; only a valid slot stores, exactly its bytes', [script], async (ops) => {
    await run(ops);
  }, { runs: 50 });
}, { longInputs: 5_000 });
