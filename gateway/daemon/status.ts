// The one status object `tlsim-gateway status --json` prints (scripts rely on these key names), built
// from a live gateway or, when none runs, from the config, the identity and the store on disk.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentity } from '../bridge/peer-protocol.js';
import { formatShareString } from '../bridge/share-string.js';
import type { Config } from '../config.js';
import { databasePath } from '../paths.js';
import { openStore, type Store } from '../store/index.js';
import { stoppedTorStatus, type TorStatusJson } from '../tor/gateway-tor.js';
import { PASSWORD_FILE } from '../xmpp/local-account.js';
import { caCertPath } from '../xmpp/local-ca.js';
import type { RuntimeInfo } from './runtime.js';
import type { AccountInfo } from '../accounts/local-accounts.js';

export interface StatusJson {
  running: boolean;
  pid: number | null;
  /** Our peer fingerprint; null before the identity exists (before `init` or the first `run`). */
  fingerprint: string | null;
  /** tlsim://<fingerprint>@<host>:<port>; null when unknown (no identity, or port 0 and not running). */
  share: string | null;
  jid: string;
  passwordFile: string;
  c2sPort: number | null;
  peerPort: number | null;
  websocketPort: number | null;
  peerDomain: string;
  /** mode, state ('off', 'starting', 'bootstrapping', 'ready', 'failed'; 'stopped' when the gateway is), bootstrap, onion, socks. */
  tor: TorStatusJson;
  dataDir: string;
  configFile: string | null;
  caCertFile: string;
  online: number;
  queued: number;
  startedAt: string | null;
  /**
   * (Additive) Local mode: every local account, the default one first (its keys above stay those of
   * the default account). From `tlsim-gateway status`; RunningGateway.status() leaves it out.
   */
  accounts?: AccountInfo[];
  /** Component mode only: the stream to the XMPP server and the registered users. */
  component?: {
    domain: string;
    server: string;
    connected: boolean;
    lastError: string | null;
    users: number;
    usersLinked: number;
  };
}

export function accountJid(config: Config): string {
  return `${config.account.user}@${config.account.domain}`;
}

export { caCertPath };

export function shareFor(fingerprint: string | null, host: string, port: number | null): string | null {
  if (!fingerprint || !port) return null;
  try {
    return formatShareString({ fingerprint, host, port });
  } catch {
    return null;
  }
}

/** Messages waiting in the outgoing queue of one account. */
export function queuedCount(store: Store, accountId: number): number {
  return store.outbox.fingerprintsWithPending(accountId).reduce((n, fp) => n + store.outbox.countFor(accountId, fp), 0);
}

export interface OfflineStatusInput {
  config: Config;
  dataDir: string;
  configFile: string | null;
  /** A gateway that holds the lock but did not answer on the control socket (starting, or stuck). */
  livePid?: number;
  runtime?: RuntimeInfo;
}

/** Status read from disk only: never creates the data directory, the identity or the database. */
export async function offlineStatus(input: OfflineStatusInput): Promise<StatusJson> {
  const { config, dataDir, runtime } = input;
  const jid = accountJid(config);
  const fingerprint = await loadIdentity(dataDir).then(
    (id) => id.fingerprint,
    () => null,
  );
  let queued = 0;
  if (existsSync(databasePath(dataDir))) {
    const store = openStore(dataDir);
    try {
      const account = store.accounts.get(jid);
      if (account) queued = queuedCount(store, account.id);
    } finally {
      store.close();
    }
  }
  const live = input.livePid !== undefined && runtime?.pid === input.livePid ? runtime : undefined;
  const peerPort = live?.peerPort ?? (config.peer.port || null);
  const tor = await stoppedTorStatus(config.tor, dataDir);
  // With an onion key, peers reach us at the onion (the key exists once Tor was used on this data directory).
  const share = tor.onion ? shareFor(fingerprint, tor.onion, config.tor.virtual_port) : shareFor(fingerprint, config.peer.advertise_host, peerPort);
  return {
    running: input.livePid !== undefined,
    pid: input.livePid ?? null,
    fingerprint,
    share,
    jid,
    passwordFile: join(dataDir, PASSWORD_FILE),
    c2sPort: live?.c2sPort ?? (config.c2s.port || null),
    peerPort,
    websocketPort: config.websocket.enabled ? (live?.websocketPort ?? (config.websocket.port || null)) : null,
    peerDomain: config.peer.domain,
    tor,
    dataDir,
    configFile: input.configFile,
    caCertFile: caCertPath(dataDir),
    online: 0,
    queued,
    startedAt: live?.startedAt ?? null,
  };
}
