// A whole gateway in memory (or on loopback TCP/WebSocket) and scripted XMPP clients for
// dialogue tests: "client sends …, client receives …". Clients speak raw XML; login()
// does the full RFC 6120 negotiation with SCRAM-SHA-1 as Pidgin and Dino would.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { jid } from '@xmpp/jid';
import { pino } from 'pino';
import { memoryDuplexPair } from '../../bridge-protocol/transport/memory.js';
import type { PeerNetwork } from '../../gateway/bridge/contract.js';
import { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { History } from '../../gateway/bridge/history.js';
import { openStore, type Store } from '../../gateway/store/index.js';
import { storeMessageArchive } from '../../gateway/xmpp/message-archive.js';
import { features as defaultFeatures } from '../../gateway/features/index.js';
import type { Feature } from '../../gateway/xmpp/feature.js';
import { loadOrCreateLocalAccount } from '../../gateway/xmpp/local-account.js';
import { loadOrCreateServerTls, type ServerTls } from '../../gateway/xmpp/local-ca.js';
import { createXmppServer, type XmppServer, type XmppServerOptions } from '../../gateway/xmpp/server.js';
import { Element } from '../../gateway/xmpp/xml/element.js';
import { XmlStreamParser } from '../../gateway/xmpp/xml/parser.js';

export const STREAM_NS = 'http://etherx.jabber.org/streams';
export const STREAMS_NS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const STANZAS_NS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl';

export interface TestGatewayOptions {
  /** Default: a new FakePeerNetwork. */
  network?: PeerNetwork;
  /** Default: the features of gateway/features/index.ts. */
  features?: Feature[];
  /** Listen for c2s on 127.0.0.1:0. */
  tcp?: boolean;
  /** Listen for RFC 7395 on 127.0.0.1:0. */
  websocket?: boolean;
  server?: Partial<XmppServerOptions>;
  /**
   * (Additive) Keep the history in a store in the gateway's data directory (default true): the fake
   * network archives there and XEP-0313 queries read it, as in the daemon. false: no archive at all.
   */
  archive?: boolean;
}

export interface LoginOptions {
  resource?: string;
  /** true: <enable/>; 'resume': <enable resume='true'/>. */
  sm?: boolean | 'resume';
  /** Default true: sends initial presence. */
  presence?: boolean;
  /** (Additive) 'memory' (default) or 'tcp' (needs `tcp: true`; STARTTLS first). */
  transport?: 'memory' | 'tcp';
  /** (Additive) <priority/> of the initial presence (RFC 6121 §4.7.2.3); none by default. */
  priority?: number;
  /** (Additive) Log in to another account of the gateway (addAccount); default the first one. */
  as?: { username: string; password: string };
}

/** (Additive) Another local account of a test gateway. */
export interface TestAccount {
  username: string;
  password: string;
  userJid: string;
  network: PeerNetwork;
  fake: FakePeerNetwork | undefined;
}

export interface TestGateway {
  server: XmppServer;
  network: PeerNetwork;
  fake: FakePeerNetwork | undefined;
  username: string;
  password: string;
  domain: string;
  peerDomain: string;
  userJid: string;
  dataDir: string;
  tls: ServerTls;
  /** (Additive) The store holding the history (unless archive: false), and the account's id in it. */
  store?: Store;
  accountId?: number;
  c2sPort?: number;
  websocketPort?: number;
  /** A raw in-memory transport; the stream is not opened. */
  connect(): Promise<TestClient>;
  /** (Additive) A raw TCP connection to the c2s port; the stream is not opened. */
  connectTcp(): Promise<TestClient>;
  /** Stream, SASL SCRAM-SHA-1, bind, session; returns once bound. */
  login(opts?: LoginOptions): Promise<TestClient>;
  /** (Additive) A new in-memory stream that authenticates and sends XEP-0198 <resume/>; the answer is <resumed/> or <failed/>. */
  resume(previd: string, h: number): Promise<{ c: TestClient; answer: Element }>;
  /** (Additive) Adds a local account `<name>@localhost` to the running server, with a peer network of its own. */
  addAccount(name: string, network?: PeerNetwork): Promise<TestAccount>;
  stop(): Promise<void>;
}

const SM_NS = 'urn:xmpp:sm:3';
const isSmStanza = (el: Element) => ['iq', 'message', 'presence'].includes(el.name) && el.getNS() !== SM_NS;

/** (Additive) The h a client reports (XEP-0198): stanzas it received after <enabled/>. */
export function handledByClient(c: TestClient): number {
  const i = c.received.findIndex((el) => el.getNS() === SM_NS && el.name === 'enabled');
  return c.received.slice(i + 1).filter(isSmStanza).length;
}

export interface TestClient {
  jid: string | undefined;
  /** (Additive) The id from <enabled/> when login({ sm: 'resume' }) enabled resumption. */
  smId: string | undefined;
  send(xml: string | Element): void;
  /** The next received top-level element matching (consumed; others stay for later calls). */
  next(match?: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** Sends an iq with a fresh id; resolves with the reply (result or error). */
  iq(payload: string | Element, attrs?: { type?: 'get' | 'set'; to?: string }): Promise<Element>;
  /** Fails if an element (matching) arrives within `ms` (default 300). */
  expectNothing(ms?: number, match?: (el: Element) => boolean): Promise<void>;
  /** Everything received, in order (the stream header appears as a `stream` element). */
  received: Element[];
  closed: Promise<{ streamError?: string }>;
  /** Sends </stream:stream> and waits for the server's close. */
  close(): Promise<void>;
  /** Drops the transport without closing the stream. */
  kill(): void;
  /** (Additive) Round trip: sends a ping iq and waits for any reply, so everything sent before was processed. */
  sync(): Promise<void>;
  /** (Additive) Sends a stream header (to the gateway domain) and returns the features. */
  open(to?: string): Promise<Element>;
  /** (Additive) STARTTLS on a TCP client: <starttls/>, <proceed/>, TLS trusting `ca`. */
  starttls(ca: string): Promise<void>;
  /** (Additive) SCRAM-SHA-1 or -256 login; resolves with <success/>, rejects on <failure/>. */
  authenticate(username: string, password: string, hash?: 'SHA-1' | 'SHA-256'): Promise<Element>;
}

/** The stream header a client sends. */
export function streamHeader(to = 'localhost'): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${STREAM_NS}' to='${to}' version='1.0' xml:lang='en'>`;
}

/** The defined condition of a stanza error reply. */
export function stanzaErrorOf(el: Element): string | undefined {
  return el.getChild('error')?.elements().find((e) => e.getNS() === STANZAS_NS)?.name;
}

// RSA key generation is slow: one local CA and certificate per test process is enough.
let tlsCache: Promise<{ dir: string; tls: ServerTls }> | undefined;
function sharedTls(): Promise<{ dir: string; tls: ServerTls }> {
  tlsCache ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlsim-xmpp-tls-'));
    return { dir, tls: await loadOrCreateServerTls(dir, 'localhost') };
  })();
  return tlsCache;
}

function testLogger(): pino.Logger {
  const level = process.env.XMPP_TEST_LOG;
  return level ? pino({ level }, pino.destination(2)) : pino({ level: 'silent' });
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tlsim-xmpp-'));
  const username = 'me';
  const account = await loadOrCreateLocalAccount(dataDir, username);
  const password = (await readFile(account.passwordFile, 'utf8')).trim();
  const { tls } = await sharedTls();
  const network = opts.network ?? new FakePeerNetwork();
  const domain = 'localhost';
  const store = opts.archive === false ? undefined : openStore(dataDir);
  const accountId = store?.accounts.ensure(`${username}@${domain}`);
  if (store && network instanceof FakePeerNetwork) network.useHistory(new History(store, accountId!));
  const peerDomain = 'peers.localhost';
  const server = createXmppServer({
    identity: { domain, peerDomain, user: jid(username, domain) },
    network,
    features: opts.features ?? defaultFeatures,
    account,
    tls,
    log: testLogger(),
    ...(store && { archive: storeMessageArchive(store, accountId!) }),
    c2s: opts.tcp ? { host: '127.0.0.1', port: 0 } : false,
    websocket: opts.websocket ? { host: '127.0.0.1', port: 0 } : false,
    ...opts.server,
  });
  await server.start();
  const clients = new Set<Client>();
  const track = (c: Client) => {
    clients.add(c);
    return c;
  };

  const gw: TestGateway = {
    server,
    network,
    fake: network instanceof FakePeerNetwork ? network : undefined,
    username,
    password,
    domain,
    peerDomain,
    userJid: `${username}@${domain}`,
    dataDir,
    tls,
    ...(store && { store, accountId }),
    c2sPort: server.c2sPort,
    websocketPort: server.websocketPort,
    async connect() {
      const [client, serverEnd] = memoryDuplexPair();
      server.acceptStream(serverEnd, { remote: 'memory' });
      return track(new Client(client));
    },
    async connectTcp() {
      if (server.c2sPort === undefined) throw new Error('startTestGateway({ tcp: true }) first');
      const socket = netConnect({ host: '127.0.0.1', port: server.c2sPort });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      return track(new Client(socket));
    },
    async login(o = {}) {
      const c = (o.transport === 'tcp' ? await gw.connectTcp() : await gw.connect()) as Client;
      const features = await c.open();
      if (o.transport === 'tcp' && features.getChild('starttls')) {
        await c.starttls(tls.caCertPem);
        await c.open();
      }
      await c.authenticate(o.as?.username ?? username, o.as?.password ?? password);
      await c.open();
      const bind = await c.iq(
        `<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>${o.resource ? `<resource>${escapeXml(o.resource)}</resource>` : ''}</bind>`,
        { type: 'set' },
      );
      const bound = bind.getChild('bind')?.getChildText('jid');
      if (bind.attrs.type !== 'result' || !bound) throw new Error(`bind failed: ${bind.toString()}`);
      c.jid = bound;
      const session = await c.iq(`<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>`, { type: 'set' });
      if (session.attrs.type !== 'result') throw new Error(`session failed: ${session.toString()}`);
      if (o.sm) {
        c.send(o.sm === 'resume' ? `<enable xmlns='urn:xmpp:sm:3' resume='true'/>` : `<enable xmlns='urn:xmpp:sm:3'/>`);
        const enabled = await c.next((el) => el.getNS() === 'urn:xmpp:sm:3' && (el.name === 'enabled' || el.name === 'failed'));
        if (enabled.name !== 'enabled') throw new Error(`SM enable failed: ${enabled.toString()}`);
        c.smId = enabled.attrs.id;
      }
      if (o.presence !== false) {
        c.send(o.priority === undefined ? '<presence/>' : `<presence><priority>${o.priority}</priority></presence>`);
        // The server handles a stream strictly in order: once this iq is answered, the
        // presence was processed and the session is available.
        await c.sync();
      }
      return c;
    },
    async resume(previd, h) {
      const c = await gw.connect();
      await c.open();
      await c.authenticate(username, password);
      await c.open();
      c.send(`<resume xmlns='${SM_NS}' previd='${previd}' h='${h}'/>`);
      const answer = await c.next((el) => el.getNS() === SM_NS);
      return { c, answer };
    },
    async addAccount(name, net = new FakePeerNetwork()) {
      const account = await loadOrCreateLocalAccount(join(dataDir, 'accounts', name), name);
      const pass = (await readFile(account.passwordFile, 'utf8')).trim();
      await server.addAccount({ identity: { domain, peerDomain, user: jid(name, domain) }, network: net, account });
      return { username: name, password: pass, userJid: `${name}@${domain}`, network: net, fake: net instanceof FakePeerNetwork ? net : undefined };
    },
    async stop() {
      for (const c of clients) c.kill();
      await server.stop();
      store?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return gw;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

interface Waiter {
  match: (el: Element) => boolean;
  resolve: (el: Element) => void;
  reject: (err: Error) => void;
}

export class Client implements TestClient {
  jid: string | undefined;
  /** The id from <enabled/> when SM with resumption was enabled at login. */
  smId: string | undefined;
  readonly received: Element[] = [];
  readonly closed: Promise<{ streamError?: string }>;
  private unconsumed: Element[] = [];
  private waiters: Waiter[] = [];
  private parser!: XmlStreamParser;
  private isClosed = false;
  private streamError: string | undefined;
  private resolveClosed!: (v: { streamError?: string }) => void;
  private ids = 0;
  private readonly onData = (chunk: Buffer) => this.feed(chunk);
  private readonly onGone = () => this.markClosed();

  constructor(private socket: Duplex) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.resetParser();
    this.attach();
  }

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.on('close', this.onGone);
    this.socket.on('end', this.onGone);
    this.socket.on('error', () => this.markClosed());
  }

  private resetParser(): void {
    this.parser = new XmlStreamParser(
      {
        open: (o) => this.push(new Element('stream', { ...o.attrs, xmlns: STREAM_NS })),
        element: (el) => {
          if (el.name === 'error' && el.getNS() === STREAM_NS) {
            this.streamError = el.elements().find((e) => e.getNS() === STREAMS_NS && e.name !== 'text')?.name;
          }
          this.push(el);
        },
        close: () => this.markClosed(),
      },
      { maxStanzaBytes: 64 * 1024 * 1024, maxDepth: 1000, maxAttributes: 1000 },
    );
  }

  private feed(chunk: Buffer): void {
    try {
      this.parser.write(chunk);
    } catch (err) {
      this.markClosed();
      for (const w of this.waiters.splice(0)) w.reject(new Error(`client could not parse the server's XML: ${String(err)}`));
    }
  }

  private push(el: Element): void {
    this.received.push(el);
    const i = this.waiters.findIndex((w) => w.match(el));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(el);
    } else {
      this.unconsumed.push(el);
    }
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.resolveClosed(this.streamError ? { streamError: this.streamError } : {});
    // Waiters may still be satisfied by data parsed before the close; fail the rest soon.
    setImmediate(() => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`stream closed${this.streamError ? ` (${this.streamError})` : ''}`));
    });
  }

  send(xml: string | Element): void {
    const text = typeof xml === 'string' ? xml : xml.toString();
    // A new stream header from us means the server's next bytes are a new stream too.
    if (/^\s*(<\?xml[^>]*>\s*)?<stream:stream[\s>]/.test(text)) this.resetParser();
    if (!this.socket.destroyed) this.socket.write(text);
  }

  next(match: (el: Element) => boolean = () => true, timeoutMs = 5000): Promise<Element> {
    const i = this.unconsumed.findIndex(match);
    if (i >= 0) return Promise.resolve(this.unconsumed.splice(i, 1)[0]!);
    if (this.isClosed) return Promise.reject(new Error(`stream closed${this.streamError ? ` (${this.streamError})` : ''}; nothing matching`));
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const recent = this.unconsumed.slice(-5).map(String).join('\n  ');
        reject(new Error(`nothing matching within ${timeoutMs} ms; unconsumed:\n  ${recent || '(none)'}`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (el) => {
          clearTimeout(timer);
          resolve(el);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async iq(payload: string | Element, attrs: { type?: 'get' | 'set'; to?: string } = {}): Promise<Element> {
    const id = `t${++this.ids}-${randomBytes(3).toString('hex')}`;
    const to = attrs.to ? ` to='${escapeXml(attrs.to)}'` : '';
    this.send(`<iq type='${attrs.type ?? 'get'}' id='${id}'${to}>${payload.toString()}</iq>`);
    return this.next((el) => el.name === 'iq' && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'));
  }

  async expectNothing(ms = 300, match: (el: Element) => boolean = () => true): Promise<void> {
    const start = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    const got = this.received.slice(start).filter(match);
    if (got.length > 0) throw new Error(`expected nothing, got:\n  ${got.map(String).join('\n  ')}`);
  }

  async sync(): Promise<void> {
    await this.iq(`<ping xmlns='urn:xmpp:ping'/>`);
  }

  async close(): Promise<void> {
    this.send('</stream:stream>');
    const timeout = new Promise((r) => setTimeout(r, 5000).unref());
    await Promise.race([this.closed, timeout]);
    this.socket.end();
  }

  kill(): void {
    this.socket.destroy();
    this.markClosed();
  }

  async open(to = 'localhost'): Promise<Element> {
    this.send(streamHeader(to));
    await this.next((el) => el.name === 'stream' && el.getNS() === STREAM_NS);
    return this.next((el) => el.getNS() === STREAM_NS && (el.name === 'features' || el.name === 'error'));
  }

  async starttls(ca: string): Promise<void> {
    this.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
    const answer = await this.next((el) => el.getNS() === 'urn:ietf:params:xml:ns:xmpp-tls');
    if (answer.name !== 'proceed') throw new Error(`STARTTLS refused: ${answer.toString()}`);
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onGone);
    this.socket.off('end', this.onGone);
    const secure = tlsConnect({ socket: this.socket, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach();
  }

  async authenticate(username: string, password: string, hash: 'SHA-1' | 'SHA-256' = 'SHA-1'): Promise<Element> {
    const algo = hash === 'SHA-1' ? 'sha1' : 'sha256';
    const nonce = randomBytes(18).toString('base64');
    const clientFirstBare = `n=${username},r=${nonce}`;
    const sasl = (el: Element) => el.getNS() === SASL_NS;
    this.send(`<auth xmlns='${SASL_NS}' mechanism='SCRAM-${hash}'>${Buffer.from(`n,,${clientFirstBare}`).toString('base64')}</auth>`);
    const challenge = await this.next(sasl);
    if (challenge.name !== 'challenge') throw new Error(`SASL failed: ${challenge.toString()}`);
    const serverFirst = Buffer.from(challenge.text(), 'base64').toString();
    const fields = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const salted = pbkdf2Sync(password, Buffer.from(fields.s!, 'base64'), Number(fields.i), hash === 'SHA-1' ? 20 : 32, algo);
    const clientKey = createHmac(algo, salted).update('Client Key').digest();
    const storedKey = createHash(algo).update(clientKey).digest();
    const clientFinalNoProof = `c=biws,r=${fields.r}`;
    const authMessage = `${clientFirstBare},${serverFirst},${clientFinalNoProof}`;
    const signature = createHmac(algo, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    this.send(`<response xmlns='${SASL_NS}'>${Buffer.from(`${clientFinalNoProof},p=${proof.toString('base64')}`).toString('base64')}</response>`);
    const outcome = await this.next(sasl);
    if (outcome.name !== 'success') throw new Error(`SASL failed: ${outcome.toString()}`);
    const serverKey = createHmac(algo, salted).update('Server Key').digest();
    const expected = `v=${createHmac(algo, serverKey).update(authMessage).digest('base64')}`;
    if (Buffer.from(outcome.text(), 'base64').toString() !== expected) throw new Error('server signature mismatch');
    return outcome;
  }
}
