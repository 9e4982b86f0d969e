// How a CLI command reaches the gateway's state: through the control socket of a running gateway, or,
// when none runs, on the data directory itself with a network that is built but never started.
import { silentLogger } from '../xmpp/log.js';
import { loadOrCreateIdentity } from '../bridge/peer-protocol.js';
import { TlsimNetwork } from '../bridge/tlsim-network.js';
import { runCommandLine, type CommandResult } from '../commands/index.js';
import { ControlUnavailableError, controlRequest } from '../control/client.js';
import type { ControlRequest, ControlResponse } from '../control/protocol.js';
import { lockOwner } from '../daemon/lock.js';
import { readRuntime } from '../daemon/runtime.js';
import { accountJid, offlineStatus, type StatusJson } from '../daemon/status.js';
import { existsSync } from 'node:fs';
import { LocalAccounts, type AccountInfo } from '../accounts/local-accounts.js';
import { databasePath } from '../paths.js';
import { openStore } from '../store/index.js';
import { ensurePrivateDir } from '../xmpp/secret-file.js';
import { CliError, type CliContext } from './common.js';

/** The running gateway's answer, or undefined when no gateway runs on this data directory. */
export async function askGateway(dataDir: string, req: ControlRequest): Promise<ControlResponse | undefined> {
  try {
    return await controlRequest(dataDir, req);
  } catch (err) {
    if (!(err instanceof ControlUnavailableError)) throw new CliError((err as Error).message);
    const pid = lockOwner(dataDir);
    if (pid !== undefined && pid !== process.pid) {
      throw new CliError(`the gateway (PID ${pid}) holds ${dataDir} but does not answer on its control socket yet; try again in a moment`);
    }
    return undefined;
  }
}

export async function gatewayStatus(ctx: CliContext): Promise<StatusJson> {
  try {
    const res = await controlRequest(ctx.dataDir, { op: 'status' });
    if ('status' in res) return res.status;
    throw new CliError('error' in res ? res.error : 'the gateway gave no status');
  } catch (err) {
    if (!(err instanceof ControlUnavailableError)) throw err;
  }
  // Not answering: stopped, starting or stuck. The lock and runtime file still tell what they can.
  const pid = lockOwner(ctx.dataDir);
  const status = await offlineStatus({
    config: ctx.config,
    dataDir: ctx.dataDir,
    configFile: ctx.configPath,
    livePid: pid,
    runtime: readRuntime(ctx.dataDir),
  });
  return ctx.config.gateway.mode === 'component' ? status : { ...status, accounts: await storedAccounts(ctx) };
}

/** The local accounts as the data directory has them (none before the database exists; nothing is created). */
export async function storedAccounts(ctx: CliContext): Promise<AccountInfo[]> {
  if (!existsSync(databasePath(ctx.dataDir))) return [];
  return withLocalAccounts(ctx, async (accounts) => Promise.all(accounts.accounts().map((a) => accounts.info(a))));
}

/** Runs `fn` on the stored local accounts of a stopped gateway. */
export async function withLocalAccounts<T>(ctx: CliContext, fn: (accounts: LocalAccounts) => Promise<T>): Promise<T> {
  const store = openStore(ctx.dataDir);
  try {
    return await fn(new LocalAccounts(store, ctx.dataDir, ctx.config));
  } finally {
    store.close();
  }
}

/**
 * Runs a gateway command line (`add …`, `list`, …) with the one implementation in gateway/commands:
 * on the live network of a running gateway, or on the stored contacts when none runs (the next start
 * picks the changes up). The offline network is never started: it neither listens nor dials.
 */
export async function runPeerCommand(ctx: CliContext, line: string): Promise<CommandResult> {
  const res = await askGateway(ctx.dataDir, { op: 'command', line });
  if (res) {
    if ('error' in res) throw new CliError(res.error);
    if ('status' in res) throw new CliError('unexpected answer from the gateway');
    return res;
  }
  await ensurePrivateDir(ctx.dataDir);
  const store = openStore(ctx.dataDir);
  try {
    const network = new TlsimNetwork({
      store,
      accountId: store.accounts.ensure(accountJid(ctx.config)),
      identity: await loadOrCreateIdentity(ctx.dataDir),
      log: silentLogger(),
      listen: { host: ctx.config.peer.host, port: ctx.config.peer.port },
      advertiseHost: ctx.config.peer.advertise_host,
      unknownPolicy: ctx.config.peer.unknown_policy,
      maxMessageBytes: ctx.config.peer.max_message_bytes,
    });
    return await runCommandLine({ network, peerDomain: ctx.config.peer.domain, domain: ctx.config.account.domain }, line);
  } finally {
    store.close();
  }
}
