// The gateway daemon: one data directory (locked), the store, the default account's peer identity and
// network, the local XMPP server, the added local accounts (each with a network of its own) and the
// control socket, started in order and stopped in reverse; SIGHUP-style reload.
import { jid } from '@xmpp/jid';
import type { Logger } from 'pino';
import { loadOrCreateIdentity, type OnionKey } from './bridge/peer-protocol.js';
import { parseAddress } from './bridge/share-string.js';
import { TlsimNetwork, type TlsimNetworkOptions } from './bridge/tlsim-network.js';
import { LocalAccounts } from './accounts/local-accounts.js';
import { UserOnions } from './accounts/onions.js';
import { AccountsRuntime } from './daemon/accounts.js';
import { ONION_DIAL_TIMEOUT_MS, torAwareDialerFor } from './bridge/tor-dialer.js';
import { runCommandLine } from './commands/index.js';
import { CONFIG_KEYS, loadConfig, type Config, type ConfigKey } from './config.js';
import { startControlServer, type ControlServer } from './control/server.js';
import { controlSocketPath, type ControlRequest, type ControlResponse } from './control/protocol.js';
import { explainListenError } from './daemon/listen-errors.js';
import { runCleanup } from './daemon/cleanup.js';
import { acquireLock } from './daemon/lock.js';
import { startArchiveRetention } from './daemon/archive-retention.js';
import { startDaemonFoaf } from './daemon/foaf.js';
import { removeRuntime, writeRuntime } from './daemon/runtime.js';
import { accountJid, queuedCount, type StatusJson } from './daemon/status.js';
import { features } from './features/index.js';
import { openStore } from './store/index.js';
import { startUploadExpiry } from './files/upload-expiry.js';
import { UploadStore, uploadLimits } from './files/upload-store.js';
import { loadOrCreateLocalAccount } from './xmpp/local-account.js';
import { loadOrCreateServerTls, type ServerTls } from './xmpp/local-ca.js';
import { createRootLogger } from './xmpp/log.js';
import type { TerminalOutput } from './daemon/terminal.js';
import { ensurePrivateDir } from './xmpp/secret-file.js';
import { storeOfflineBox } from './xmpp/offline-box.js';
import { storeMessageArchive } from './xmpp/message-archive.js';
import { storeUserData } from './xmpp/user-data.js';
import { createXmppServer, type XmppServer } from './xmpp/server.js';
import { startWeb, type LogRing, type WebServer } from './web/index.js';
import { GatewayTor, loadGatewayOnionKey, onionTarget, type GatewayTorHooks, type TorStatusJson } from './tor/gateway-tor.js';
import { chooseTorMode, type ChooseTorModeOptions, type TorModeChoice } from './tor/mode.js';

export type { StatusJson } from './daemon/status.js';

export interface StartGatewayOptions {
  config: Config;
  dataDir: string;
  /** The config file in use (shown in status and messages; re-read on reload). */
  configPath?: string;
  /** The root logger; default one made from config.log. */
  log?: Logger;
  /** How reload() gets the new config; default: the file at configPath plus the environment (flags are the CLI's to add). */
  reloadConfig?: () => Promise<Config>;
  /**
   * Tests and embedders only, never config: options for our tor (a private test network's
   * TestingTorNetwork 1 + DirAuthority lines, or DisableNetwork kept), and where "auto" looks for tor.
   */
  tor?: GatewayTorHooks & ChooseTorModeOptions;
  /** The log tail the status page shows: the ring `createGatewayLogger(config, ring)` writes to. */
  logRing?: LogRing;
}

export interface RunningGateway {
  status(): StatusJson;
  stop(): Promise<void>;
  /** Re-reads the config and the TLS certificate; applies what can change without a restart, logs the rest. */
  reload(): Promise<void>;
  readonly network: TlsimNetwork;
  readonly server: XmppServer;
  /** Our Tor (undefined when Tor is not used): follow `tor.service` events for bootstrap progress. */
  readonly tor: GatewayTor | undefined;
  /** How tor.mode was resolved ("auto" → launch, control or off). */
  readonly torChoice: TorModeChoice;
  /** The peer identity was made by this start (first start: say hello, show the share string). */
  readonly identityCreated: boolean;
  /** (Additive) The added local accounts: `accounts.add(name)`, `remove(name)`, `list()`. */
  readonly accounts: AccountsRuntime;
  /** The status page (undefined when web.enabled is false or its port could not be bound). */
  readonly web: WebServer | undefined;
}

export { STOP_TIMEOUT_MS } from './daemon/cleanup.js';
/** Keys reload() applies in place; any other change waits for a restart. */
const RELOADABLE = new Set<ConfigKey>(['log.level', 'peer.unknown_policy']);

/**
 * The root logger, on standard error: pretty on a terminal (or log.format = "pretty"), JSON lines
 * otherwise (with journald priorities under systemd); secrets redacted. With the terminal of `run`,
 * pretty lines are written above its status line.
 */
export function createGatewayLogger(config: Config, tee?: LogRing, terminal?: TerminalOutput): Logger {
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && Boolean(process.stderr.isTTY));
  const tty = terminal && process.stderr.isTTY ? terminal : undefined;
  const sink = tty && { write: (line: string) => tty.around(() => process.stderr.write(line)) };
  // On the terminal, progress lines (a file crossing, a crawl) are the status line's bar, not lines of their own.
  const intercept = tty && ((line: string) => tty.showProgress(line));
  return createRootLogger({ level: config.log.level, pretty, ...(tee && { tee }), ...(sink && { sink }), ...(intercept && { intercept }) });
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const { dataDir } = opts;
  let config = opts.config;
  const log = opts.log ?? createGatewayLogger(config);
  await ensurePrivateDir(dataDir);
  const lock = acquireLock(dataDir);
  const cleanup: Array<() => unknown> = [() => lock.release()];
  try {
    const store = openStore(dataDir);
    cleanup.unshift(() => store.close());
    const retention = startArchiveRetention({ store, days: config.archive.retention_days, log: log.child({ component: 'archive' }) });
    cleanup.unshift(() => retention.stop());
    const jidText = accountJid(config);
    const accountId = store.accounts.ensure(jidText);
    // Files are served by the status page listener: no listener, no uploads.
    const uploads = config.files.enabled && config.web.enabled
      ? new UploadStore({ store, dataDir, limits: uploadLimits(config.files), log: log.child({ component: 'files' }) })
      : undefined;
    if (uploads) {
      await uploads.open();
      const expiry = startUploadExpiry(uploads, log.child({ component: 'files' }));
      cleanup.unshift(() => expiry.stop());
    }
    const localAccounts = new LocalAccounts(store, dataDir, config);
    localAccounts.checkDefault();
    const identity = await loadOrCreateIdentity(dataDir);
    const account = await loadOrCreateLocalAccount(dataDir, config.account.user);
    const tls: ServerTls = await loadOrCreateServerTls(dataDir, config.account.domain);
    const torChoice = await chooseTorMode(config.tor, opts.tor);
    if (torChoice.notice) log.warn({ tor: 'off' }, torChoice.notice);
    // The onion address comes from our key, offline: it is in the share string before tor has even started.
    const onionKey: OnionKey | undefined = torChoice.mode === 'off' ? undefined : await loadGatewayOnionKey(dataDir);
    let tor: GatewayTor | undefined;
    const torOffWhy =
      config.tor.mode === 'off' ? 'Tor is off (tor.mode = "off")' : 'Tor is not used (tor.mode "auto" found no tor to launch or attach to)';
    // What every account's network shares; with Tor each account's own onion comes on top.
    const networkBase = (o: Pick<TlsimNetworkOptions, 'accountId' | 'identity' | 'log'>, port: number): TlsimNetworkOptions => ({
      ...o,
      store,
      listen: { host: config.peer.host, port },
      advertiseHost: config.peer.advertise_host,
      unknownPolicy: config.peer.unknown_policy,
      maxMessageBytes: config.peer.max_message_bytes,
      ...(uploads && { uploads }),
      dialerFor: torAwareDialerFor({
        tor: { socks: () => tor?.socks(), whyNot: () => tor?.whyNot() ?? torOffWhy },
        all: config.tor.all,
      }),
    });
    // Find people (issue 13): GET /foaf on loopback, behind our onion's second port.
    let turtleOf: TlsimNetwork | undefined;
    const foaf = await startDaemonFoaf(config, onionKey && `${onionKey.serviceId}.onion`, () => turtleOf!.directory.turtle(), log);
    if (foaf.server) cleanup.unshift(() => foaf.server!.close());
    const network = new TlsimNetwork({
      ...networkBase({ accountId, identity, log: log.child({ component: 'bridge' }) }, config.peer.port),
      directory: foaf.settings,
      ...(onionKey && {
        advertise: { host: `${onionKey.serviceId}.onion`, port: config.tor.virtual_port },
        transport: 'tor' as const,
        // The dialer keeps direct connects at 30 s; onions get tor's own SocksTimeout.
        peerOptions: { dialTimeoutMs: ONION_DIAL_TIMEOUT_MS + 5_000 },
      }),
    });
    turtleOf = network;
    const peerDomain = config.peer.domain;
    // Held by reference by the WebSocket listener: the status page adds its own origins once it listens.
    const websocketOrigins = [...config.websocket.allowed_origins];
    const server = createXmppServer({
      identity: { domain: config.account.domain, peerDomain, user: jid(config.account.user, config.account.domain) },
      network,
      features,
      account,
      tls,
      log: log.child({ component: 'xmpp' }),
      c2s: { host: config.c2s.host, port: config.c2s.port, maxConnections: config.c2s.max_connections },
      websocket: config.websocket.enabled && {
        host: config.websocket.host,
        port: config.websocket.port,
        allowedOrigins: websocketOrigins,
      },
      allowPlainWithoutTls: config.c2s.allow_plain_without_tls,
      offline: storeOfflineBox(store, accountId, log.child({ component: 'xmpp' }), config.c2s.offline_messages),
      archive: storeMessageArchive(store, accountId),
      userData: storeUserData(store, accountId),
      ...(uploads && { files: uploads.forAccount(accountId) }),
    });
    // Tor stops after the server: peer links close (close_notify) while tor still carries them.
    cleanup.unshift(() => tor?.stop());
    cleanup.unshift(() => server.stop());
    try {
      await server.start();
    } catch (err) {
      throw explainListenError(err, config, opts.configPath);
    }
    const listening = network.selfInfo().listening[0];
    const peerPort = listening ? parseAddress(listening).port : null;
    let onions: UserOnions | undefined;
    if (onionKey && listening && torChoice.mode !== 'off') {
      // One tor: the default account's onion is its own, each added account's is published on it too.
      onions = new UserOnions({
        choice: { ...torChoice, mode: torChoice.mode },
        tor: config.tor,
        dataDir,
        own: { key: onionKey, target: onionTarget(listening), jid: jidText, network, log: log.child({ component: 'bridge' }), ...(foaf.extraPorts && { extraPorts: foaf.extraPorts }) },
        log: log.child({ component: 'tor' }),
        hooks: opts.tor,
      });
      tor = onions.tor;
      // Hosted rooms behind the same onion, each at its own port (their share strings name the onion).
      const hosting = network.rooms.hosting;
      const gatewayTor = tor;
      if (hosting) {
        const reserved = new Set([config.tor.virtual_port, ...(foaf.extraPorts ?? []).map((p) => p.virt)]);
        const roomPorts = () => hosting.onionPorts().filter((p) => !reserved.has(p.virt));
        void gatewayTor.setMorePorts(roomPorts()).catch(() => undefined);
        hosting.portsChanged = () => void gatewayTor.setMorePorts(roomPorts()).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'hosted rooms not (re)published on the onion'));
      }
      // Not awaited: XMPP clients log in at once; tor's progress is in the log and in status.
      const starting = tor;
      void starting.start().catch((err: unknown) => log.error({ err }, 'tor could not be started'));
    }
    const accounts = new AccountsRuntime({
      store,
      config,
      log: log.child({ component: 'accounts' }),
      server,
      accounts: localAccounts,
      makeNetwork: (user, port, userLog) =>
        new TlsimNetwork({
          ...networkBase({ accountId: user.account.id, identity: user.identity, log: userLog.child({ component: 'bridge' }) }, port),
          ...(onions && onions.networkOptions(user)),
        }),
      onions: () => onions,
      defaultLive: () => ({ share: network.selfInfo().share ?? null, peerPort }),
      ...(uploads && { uploads }),
    });
    // Their onions are withdrawn while tor still runs.
    cleanup.unshift(() => accounts.stop());
    await accounts.startAll();
    const torStatus = (): TorStatusJson =>
      tor?.status() ?? {
        mode: torChoice.mode === 'off' ? 'off' : config.tor.mode,
        state: 'off',
        bootstrap: null,
        onion: null,
        published: false,
        restarts: 0,
        ...(torChoice.notice && { notice: torChoice.notice }),
      };
    const startedAt = new Date().toISOString();
    await writeRuntime(dataDir, {
      pid: process.pid,
      c2sPort: server.c2sPort ?? null,
      peerPort,
      websocketPort: server.websocketPort ?? null,
      startedAt,
    });
    cleanup.unshift(() => removeRuntime(dataDir));

    const status = (): StatusJson => {
      const self = network.selfInfo();
      return {
        running: true,
        pid: process.pid,
        fingerprint: identity.fingerprint,
        share: self.share ?? null,
        jid: jidText,
        passwordFile: account.passwordFile,
        c2sPort: server.c2sPort ?? null,
        peerPort,
        websocketPort: server.websocketPort ?? null,
        peerDomain,
        tor: torStatus(),
        dataDir,
        configFile: opts.configPath ?? null,
        caCertFile: tls.caCertFile,
        online: self.online,
        queued: queuedCount(store, accountId),
        startedAt,
      };
    };
    /** status() with every account: async (identities are read from disk), so for the control socket. */
    const fullStatus = async (): Promise<StatusJson> => ({ ...status(), accounts: await accounts.list() });

    const reload = async (): Promise<void> => {
      const next = await (opts.reloadConfig ?? (() => loadConfig({ configPath: opts.configPath, env: process.env })))();
      log.level = next.log.level;
      const unknownPolicy = next.peer.unknown_policy;
      for (const n of [network, ...accounts.networks()]) n.setUnknownPolicy(unknownPolicy);
      const renewed = await loadOrCreateServerTls(dataDir, config.account.domain);
      server.setTls(renewed);
      web?.setTls(renewed);
      const restart = changedKeys(config, next).filter((k) => !RELOADABLE.has(k));
      log.info({ level: next.log.level, unknownPolicy, cert: renewed.certFile }, 'config and TLS certificate reloaded');
      if (restart.length > 0) log.warn({ keys: restart }, 'these settings change only at the next start: restart the gateway');
      // Status keeps describing what runs: only the reloadable keys move on.
      config = { ...config, log: { ...config.log, level: next.log.level }, peer: { ...config.peer, unknown_policy: unknownPolicy } };
    };

    const web = !config.web.enabled
      ? undefined
      : await startWeb({
          host: config.web.host,
          port: config.web.port,
          tls,
          account,
          network,
          peerDomain,
          store,
          accountId,
          status,
          ...(opts.logRing && { logRing: opts.logRing }),
          websocketOrigins,
          ...(uploads && { uploads }),
          log: log.child({ component: 'web' }),
        });
    if (web) cleanup.unshift(() => web.close());
    uploads?.setBaseUrl(web?.baseUrl());

    const handle = async (req: ControlRequest): Promise<ControlResponse> => {
      if (req.op === 'status') return { ok: true, status: await fullStatus() };
      if (req.op === 'account') return accounts.handle(req);
      if (req.op === 'web-link') {
        return web ? { ok: true, text: web.oneTimeLink() } : { ok: false, text: 'the status page is off (web.enabled = false) or could not listen: see the log' };
      }
      if (req.op === 'reload') {
        await reload();
        return { ok: true, text: 'reloaded' };
      }
      return runCommandLine({ network, peerDomain, domain: config.account.domain }, req.line);
    };
    const control: ControlServer = await startControlServer({
      path: controlSocketPath(dataDir),
      log: log.child({ component: 'control' }),
      handle,
    });
    cleanup.unshift(() => control.close());

    log.info(
      {
        c2s: server.c2sPort,
        peer: peerPort,
        websocket: server.websocketPort ?? null,
        web: web?.port ?? null,
        tor: torChoice.mode,
        onion: tor?.onion ?? null,
        jid: jidText,
        fingerprint: identity.fingerprint,
        dataDir,
      },
      `gateway started: XMPP clients on ${config.c2s.host}:${server.c2sPort}, peers on ${config.peer.host}:${peerPort}` +
        (server.websocketPort ? `, WebSocket on ${config.websocket.host}:${server.websocketPort}` : '') +
        (web ? `, status page on https://${config.web.host}:${web.port}/` : '') +
        (tor
          ? `; Tor: ${torChoice.mode === 'launch' ? 'our own tor' : 'the running tor'} publishes ${tor.onion}:${config.tor.virtual_port} (bootstrapping in the background)`
          : '; Tor not used (direct mode)'),
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        log.info('gateway stopping');
        await runCleanup(cleanup, log);
        log.info('gateway stopped');
      })());
    return {
      status,
      stop,
      reload,
      network,
      server,
      get tor() {
        return tor;
      },
      torChoice,
      identityCreated: identity.created,
      accounts,
      web,
    };
  } catch (err) {
    await runCleanup(cleanup, log);
    throw err;
  }
}

function changedKeys(a: Config, b: Config): ConfigKey[] {
  const get = (c: Config, k: ConfigKey): unknown => {
    const [sec, field] = k.split('.') as [keyof Config, string];
    return (c[sec] as Record<string, unknown>)[field];
  };
  return CONFIG_KEYS.filter((k) => JSON.stringify(get(a, k)) !== JSON.stringify(get(b, k)));
}
