// The transport mode's daemon (gateway.mode = "component"): one data directory (locked), the
// store, the registered users and their peer sessions (with Tor: each behind an onion of their
// own on one tor), the XEP-0114 stream to the XMPP server (kept up with backoff) and the control
// socket; stopped in reverse.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { TlsimNetwork } from '../bridge/tlsim-network.js';
import type { Config } from '../config.js';
import type { StartGatewayOptions } from '../daemon.js';
import { startControlServer } from '../control/server.js';
import { controlSocketPath, type ControlRequest, type ControlResponse } from '../control/protocol.js';
import { runCleanup } from '../daemon/cleanup.js';
import { acquireLock } from '../daemon/lock.js';
import { removeRuntime, writeRuntime } from '../daemon/runtime.js';
import type { StatusJson } from '../daemon/status.js';
import { openStore } from '../store/index.js';
import { ConfigError } from '../xmpp/errors.js';
import { storeOfflineBox } from '../xmpp/offline-box.js';
import { startArchiveRetention } from '../daemon/archive-retention.js';
import { ensurePrivateDir } from '../xmpp/secret-file.js';
import { ComponentLink } from '../xmpp/xep-0114-component.js';
import { caCertPath } from '../xmpp/local-ca.js';
import type { TorStatusJson } from '../tor/gateway-tor.js';
import { chooseTorMode } from '../tor/mode.js';
import { Transport } from './transport.js';
import { listUsers, usersText } from './user-list.js';
import { UserOnions } from '../accounts/onions.js';
import { UserRegistry } from '../accounts/registry.js';

export interface StartComponentOptions extends Omit<StartGatewayOptions, 'log'> {
  log: Logger;
  /** Tests: how long a user's links stay after they went offline (default 2 minutes). */
  graceMs?: number;
  /** Tests: shorter reconnect backoff toward the server. */
  backoff?: { firstMs?: number; maxMs?: number };
}

export interface RunningComponentGateway {
  status(): StatusJson;
  stop(): Promise<void>;
  reload(): Promise<void>;
  readonly transport: Transport;
  readonly link: ComponentLink;
  /** The gateway's one tor and the users' onions on it (undefined when Tor is not used). */
  readonly tor: UserOnions | undefined;
  /** Never: identities are made per user at registration. Here for `run`, which greets first starts. */
  readonly identityCreated: false;
}

/** The component secret: TLSIM_COMPONENT_SECRET, else the file component.secret_file (trimmed). */
async function componentSecret(config: Config, configPath?: string): Promise<string> {
  if (config.component.secret) return config.component.secret;
  const file = config.component.secret_file;
  const where = configPath ? ` (config: ${configPath})` : '';
  if (!file) {
    throw new ConfigError('component.secret', `component mode needs the secret the server expects: set TLSIM_COMPONENT_SECRET or component.secret_file${where}`);
  }
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError('component.secret_file', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!text) throw new ConfigError('component.secret_file', `${file} is empty`);
  return text;
}

export async function startComponentGateway(opts: StartComponentOptions): Promise<RunningComponentGateway> {
  const { dataDir, log } = opts;
  const config = opts.config;
  const secret = await componentSecret(config, opts.configPath);
  await ensurePrivateDir(dataDir);
  const lock = acquireLock(dataDir);
  const cleanup: Array<() => unknown> = [() => lock.release()];
  try {
    const torChoice = await chooseTorMode(config.tor, opts.tor);
    if (torChoice.notice) log.warn({ tor: 'off' }, torChoice.notice);
    const tor =
      torChoice.mode === 'off'
        ? undefined
        : new UserOnions({ choice: { ...torChoice, mode: torChoice.mode }, tor: config.tor, dataDir, log: log.child({ component: 'tor' }), hooks: opts.tor });
    const store = openStore(dataDir);
    cleanup.unshift(() => store.close());
    const retention = startArchiveRetention({ store, days: config.archive.retention_days, log: log.child({ component: 'archive' }) });
    cleanup.unshift(() => retention.stop());
    const registry = new UserRegistry(store, dataDir);
    const { component, peer } = config;
    const link = new ComponentLink({
      host: component.server,
      port: component.port,
      domain: component.domain,
      secret,
      log: log.child({ component: 'xep-0114' }),
      ...(opts.backoff && { backoff: opts.backoff }),
    });
    const transport = new Transport({
      stream: link,
      registry,
      peerSession: component.peer_session,
      graceMs: opts.graceMs,
      log: log.child({ component: 'transport' }),
      // Each user listens on a port of their own, stable across restarts so their share string stays valid.
      offlineFor: (user, userLog) => storeOfflineBox(store, user.account.id, userLog, config.c2s.offline_messages),
      makeNetwork: (user, userLog, o) =>
        new TlsimNetwork({
          store,
          accountId: user.account.id,
          identity: user.identity,
          log: userLog,
          listen: { host: peer.host, port: peer.port === 0 || o?.anyPort ? 0 : peer.port + user.account.id },
          advertiseHost: peer.advertise_host,
          unknownPolicy: peer.unknown_policy,
          maxMessageBytes: peer.max_message_bytes,
          // With Tor: the share string names the user's onion, and onions are dialed through our tor.
          ...(tor && tor.networkOptions(user)),
        }),
      ...(tor && { sessionHooks: (user, userLog) => tor.sessionHooks(user, userLog) }),
    });
    if (tor) {
      // Tor stops after the users: their links close (close_notify) while tor still carries them.
      cleanup.unshift(() => tor.stop());
      // Not awaited: users register and chat with direct peers at once; tor's progress is in the log and in status.
      void tor.start().catch((err: unknown) => log.error({ err }, 'tor could not be started'));
    }
    await transport.open();
    cleanup.unshift(() => transport.close());
    link.on('stanza', (s) => transport.onStanza(s));
    link.on('online', () => {
      log.info({ domain: component.domain, server: `${component.server}:${component.port}`, users: transport.userCount }, 'component connected');
      transport.streamUp();
    });
    link.on('offline', (reason) => {
      log.warn({ reason }, 'component stream down: users are offline until it is back; messages for them are kept');
      void transport.streamDown();
    });
    link.start();
    // The stream ends after the users: their last presences still go out.
    cleanup.splice(1, 0, () => link.stop());

    const startedAt = new Date().toISOString();
    await writeRuntime(dataDir, { pid: process.pid, c2sPort: null, peerPort: null, websocketPort: null, startedAt });
    cleanup.unshift(() => removeRuntime(dataDir));

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
    const status = (): StatusJson => {
      let online = 0;
      let queued = 0;
      let linked = 0;
      for (const account of registry.accounts()) {
        const user = transport.user(account.jid);
        if (!user) continue;
        const self = user.network.selfInfo();
        online += self.online;
        queued += self.queued;
        if (user.network.on) linked++;
      }
      return {
        running: true,
        pid: process.pid,
        fingerprint: null,
        share: null,
        jid: component.domain,
        passwordFile: '',
        c2sPort: null,
        peerPort: null,
        websocketPort: null,
        peerDomain: component.domain,
        tor: torStatus(),
        dataDir,
        configFile: opts.configPath ?? null,
        caCertFile: caCertPath(dataDir),
        online,
        queued,
        startedAt,
        component: {
          domain: component.domain,
          server: `${component.server}:${component.port}`,
          connected: link.online,
          lastError: link.lastError ?? null,
          users: transport.userCount,
          usersLinked: linked,
        },
      };
    };

    const reload = async (): Promise<void> => {
      if (!opts.reloadConfig) return;
      const next = await opts.reloadConfig();
      log.level = next.log.level;
      log.info({ level: next.log.level }, 'reloaded: component mode applies the log level now; other changes need a restart');
    };
    const handle = async (req: ControlRequest): Promise<ControlResponse> => {
      if (req.op === 'status') return { ok: true, status: status() };
      if (req.op === 'reload') {
        await reload();
        return { ok: true, text: 'reloaded' };
      }
      if (req.op === 'account') return { ok: false, text: 'in component mode users register from their XMPP client; the local accounts are a local-mode feature' };
      if (req.op === 'web-link') return { ok: false, text: 'component mode has no status page: each user uses their own XMPP client' };
      if (req.line.trim() === 'users') {
        const users = await listUsers(store, registry, transport);
        return { ok: true, text: usersText(users), data: users };
      }
      return { ok: false, text: `in component mode each user runs commands from their XMPP client: send "help" to ${component.domain}` };
    };
    const control = await startControlServer({ path: controlSocketPath(dataDir), log: log.child({ component: 'control' }), handle });
    cleanup.unshift(() => control.close());
    log.info(
      { domain: component.domain, server: `${component.server}:${component.port}`, users: transport.userCount, peerSession: component.peer_session, tor: torChoice.mode },
      `gateway started in component mode: ${component.domain} on ${component.server}:${component.port}` +
        (tor ? `; Tor: ${torChoice.mode === 'launch' ? 'our own tor' : 'the running tor'} carries each user's onion service (bootstrapping in the background)` : '; Tor not used (direct mode)'),
    );

    let stopping: Promise<void> | undefined;
    return {
      status,
      stop: () =>
        (stopping ??= (async () => {
          log.info('gateway stopping');
          await runCleanup(cleanup, log);
          log.info('gateway stopped');
        })()),
      reload,
      transport,
      link,
      tor,
      identityCreated: false,
    };
  } catch (err) {
    await runCleanup(cleanup, log);
    throw err;
  }
}
