// The local XMPP server: wires streams, SASL, sessions, routing, features and listeners
// (RFC 6120 c2s over TCP, RFC 7395 over WebSocket) around the local accounts: the default one
// given at creation and any added later, each with its own routing, features and sessions.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { PeerNetwork } from '../bridge/contract.js';
import type { Feature, XmppIdentity } from './feature.js';
import type { LocalAccount } from './local-account.js';
import type { MessageArchive } from './message-archive.js';
import type { AccountFiles } from '../files/contract.js';
import { LocalUsers, type LocalUserOptions } from './local-users.js';
import type { OfflineBox } from './offline-box.js';
import type { UserData } from './user-data.js';
import type { ServerTls } from './local-ca.js';
import { connectionLogger, silentLogger } from './log.js';
import { LoginRateLimiter } from './login-rate-limit.js';
import { createMechanisms } from './sasl/index.js';
import { C2sStream, type C2sHost, type StreamTimeouts } from './stream/c2s-stream.js';
import { TcpTransport } from './stream/tcp-transport.js';
import { TcpListener } from './tcp-listener.js';
import { WebSocketListener } from './rfc7395-websocket.js';
import type { XmlLimits } from './xml/parser.js';

export type { LocalUserOptions } from './local-users.js';

export interface XmppServerOptions {
  identity: XmppIdentity;
  network: PeerNetwork;
  features: Feature[];
  account: LocalAccount;
  tls?: ServerTls;
  log?: Logger;
  featureConfig?: Record<string, Record<string, unknown>>;
  /** Default 127.0.0.1:5222; port 0 = a free port; false = no TCP listener. */
  /** `maxConnections`: most TCP connections at once, logged in or not (default 256). */
  c2s?: { host?: string; port?: number; maxConnections?: number } | false;
  /** RFC 7395 endpoint; default off. Always loopback. */
  websocket?: { host?: string; port?: number; allowedOrigins?: string[] } | false;
  allowPlainWithoutTls?: boolean;
  limits?: Partial<XmlLimits>;
  /** How long a dropped XEP-0198 session stays resumable (default 300000). */
  smResumeTimeoutMs?: number;
  rateLimiter?: LoginRateLimiter;
  /** (Additive) stream timeouts; defaults: header 30 s, login 120 s, TLS 30 s, handler 30 s. */
  timeouts?: Partial<StreamTimeouts>;
  /** (Additive) bytes queued for a client that does not read before it is cut (default 4 MiB). */
  maxWriteBuffer?: number;
  /** (Additive) failed SASL attempts on one stream before it is closed (default 3). */
  maxAuthFailuresPerStream?: number;
  /** (Additive) stanzas kept unacknowledged per XEP-0198 session (default 5000). */
  smMaxUnacked?: number;
  /** Where stanzas wait for the user's next login; default in memory (the daemon keeps them in the store). */
  offline?: OfflineBox;
  /** The account's message history, for XEP-0313 (the daemon's is the store's archive). */
  archive?: MessageArchive;
  /** (Additive) The user's PEP, private XML and vCard; default an in-memory database (the daemon keeps them in the store). */
  userData?: UserData;
  /** (Additive) The default account's files (XEP-0363); none: no uploads. */
  files?: AccountFiles;
}

export interface XmppServer {
  start(): Promise<void>;
  /** Sends a system-shutdown stream error and </stream:stream> on every stream, closes listeners; resumable sessions stay resumable in this process. */
  stop(): Promise<void>;
  readonly c2sPort: number | undefined;
  readonly websocketPort: number | undefined;
  /** Runs any duplex (in-memory, socket) as a c2s connection. */
  acceptStream(socket: Duplex, opts?: { remote?: string; secure?: boolean }): void;
  /** Use this certificate for every STARTTLS from now on (reload after renewal). */
  setTls(tls: ServerTls): void;
  /**
   * (Additive) Brings another local account online: its features are set up, its peer network
   * starts, and the other accounts see it in their rosters. Its identity's domain is the server's.
   */
  addAccount(account: LocalUserOptions): Promise<void>;
  /** (Additive) Cuts the account's streams, forgets it and stops its peer network; false when unknown. */
  removeAccount(jid: string): Promise<boolean>;
  /** (Additive) The local accounts, by runtime (sessions, router), the default first. */
  readonly users: LocalUsers;
}

const DEFAULT_TIMEOUTS: StreamTimeouts = { headerMs: 30_000, negotiationMs: 120_000, tlsHandshakeMs: 30_000, handlerMs: 30_000 };

export function createXmppServer(opts: XmppServerOptions): XmppServer {
  const log = opts.log ?? silentLogger();
  const { domain } = opts.identity;
  const users = new LocalUsers({
    features: opts.features,
    log,
    featureConfig: opts.featureConfig,
    iqTimeoutMs: opts.timeouts?.handlerMs,
    smResumeTimeoutMs: opts.smResumeTimeoutMs ?? 300_000,
    smMaxUnacked: opts.smMaxUnacked ?? 5000,
  });
  const defaultUser = users.create({ identity: opts.identity, network: opts.network, account: opts.account, offline: opts.offline, archive: opts.archive, userData: opts.userData, files: opts.files });
  const host: C2sHost = {
    identity: opts.identity,
    tls: opts.tls,
    account: (username) => users.byUsername(username, domain),
    sasl: {
      // Every open account of this server; one that is being removed no longer logs in.
      mechanisms: createMechanisms((username) => users.byUsername(username, domain)?.account),
      limiter: opts.rateLimiter ?? new LoginRateLimiter(),
      allowPlainWithoutTls: opts.allowPlainWithoutTls ?? false,
      maxFailuresPerStream: opts.maxAuthFailuresPerStream ?? 3,
    },
    timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts },
    streams: new Set(),
  };
  const limits = opts.limits ?? {};
  const maxWriteBuffer = opts.maxWriteBuffer ?? 4 * 1024 * 1024;
  let connCounter = 0;
  let setupDone = false;
  let tcp: TcpListener | undefined;
  let ws: WebSocketListener | undefined;

  function acceptStream(socket: Duplex, o: { remote?: string; secure?: boolean } = {}): void {
    const conn = `c${++connCounter}`;
    const remote = o.remote ?? 'memory';
    const clog = connectionLogger(log, conn, remote);
    clog.debug('connection accepted');
    const transport = new TcpTransport(socket, {
      remote,
      domain: opts.identity.domain,
      limits,
      maxWriteBuffer,
      log: clog,
      secure: o.secure,
    });
    new C2sStream(transport, host, clog);
  }

  return {
    get c2sPort() {
      return tcp?.port;
    },
    get websocketPort() {
      return ws?.port;
    },
    acceptStream,
    setTls(tls) {
      host.tls = tls;
    },
    users,
    async addAccount(account) {
      if (account.identity.user.domain.toLowerCase() !== domain.toLowerCase()) throw new Error(`an account of this server is <name>@${domain}`);
      await users.open(users.create(account));
      log.info({ account: account.identity.user.toString() }, 'account online');
    },
    async removeAccount(jid) {
      const gone = await users.close(jid);
      if (gone) log.info({ account: gone.jid }, 'account removed: its sessions ended and its peer links closed');
      return gone !== undefined;
    },
    async start() {
      if (!setupDone) {
        // Handlers first, then network events may flow (open() does both, in that order).
        await users.open(defaultUser);
        setupDone = true;
      } else {
        await opts.network.start(defaultUser.features.sink);
      }
      if (opts.c2s !== false) {
        tcp = new TcpListener({
          host: opts.c2s?.host ?? '127.0.0.1',
          port: opts.c2s?.port ?? 5222,
          ...(opts.c2s?.maxConnections !== undefined && { maxConnections: opts.c2s.maxConnections }),
          log,
          onSocket: (socket, remote) => acceptStream(socket, { remote }),
        });
        await tcp.listen();
      }
      if (opts.websocket) {
        ws = new WebSocketListener({
          host: opts.websocket.host ?? '127.0.0.1',
          port: opts.websocket.port ?? 5280,
          allowedOrigins: opts.websocket.allowedOrigins ?? [],
          limits,
          maxWriteBuffer,
          domain: opts.identity.domain,
          log,
          onTransport: (transport, clog) => new C2sStream(transport, host, clog),
          nextConnId: () => `c${++connCounter}`,
        });
        await ws.listen();
      }
      log.info({ c2s: tcp?.port, websocket: ws?.port, domain: opts.identity.domain }, 'XMPP server started');
    },
    async stop() {
      await Promise.all([tcp?.close(), ws?.close()]);
      tcp = undefined;
      ws = undefined;
      await Promise.all([...host.streams].map((s) => s.shutdown()));
      await Promise.all(users.all().map((u) => u.network.stop()));
      const resumable = users.all().reduce((n, u) => n + u.sm.detachedSessions().length, 0);
      log.info({ resumable }, 'XMPP server stopped');
    },
  };
}
