// `tlsim-gateway init`: make the data directory, the peer identity, the XMPP password and TLS material,
// and a commented config file, then say what was made and how to log in.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadOrCreateIdentity } from '../bridge/peer-protocol.js';
import { renderDefaultToml } from '../config.js';
import { lockOwner } from '../daemon/lock.js';
import { accountJid, caCertPath, offlineStatus } from '../daemon/status.js';
import { welcomeText } from '../daemon/welcome.js';
import { databasePath } from '../paths.js';
import { openStore } from '../store/index.js';
import { PASSWORD_FILE, loadOrCreateLocalAccount } from '../xmpp/local-account.js';
import { loadOrCreateServerTls } from '../xmpp/local-ca.js';
import { ensurePrivateDir } from '../xmpp/secret-file.js';
import { loadContext, parseCommandArgs, UsageError } from './common.js';

export const INIT_USAGE = `usage: tlsim-gateway init [options]

Creates what the gateway needs, keeping whatever exists: the data directory, your peer identity
(key.pem, cert.pem), the XMPP password, the local CA and server certificate, the database, and a
commented config file. Prints how to set up your XMPP client.`;

export async function initMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, INIT_USAGE);
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`init takes no arguments (got "${parsed.positionals[0]}")`, INIT_USAGE);
  const ctx = await loadContext(parsed.values);
  const { dataDir, config } = ctx;
  const made: string[] = [];
  const note = (created: boolean, what: string): void => void made.push(`${created ? 'created' : 'kept   '}  ${what}`);

  note(!existsSync(dataDir), `data directory ${dataDir}`);
  await ensurePrivateDir(dataDir);
  const identity = await loadOrCreateIdentity(dataDir);
  note(identity.created, `peer identity ${dataDir}/key.pem, cert.pem (fingerprint ${identity.fingerprint})`);
  const passwordExisted = existsSync(join(dataDir, PASSWORD_FILE));
  const account = await loadOrCreateLocalAccount(dataDir, config.account.user);
  note(!passwordExisted, `XMPP password ${account.passwordFile}`);
  const caExisted = existsSync(caCertPath(dataDir));
  const tls = await loadOrCreateServerTls(dataDir, config.account.domain);
  note(!caExisted, `local CA ${tls.caCertFile} and server certificate ${tls.certFile}`);
  const dbExisted = existsSync(databasePath(dataDir));
  // A running gateway has the database open already; WAL lets this short write through.
  const store = openStore(dataDir);
  try {
    store.accounts.ensure(accountJid(config));
  } finally {
    store.close();
  }
  note(!dbExisted, `database ${store.path}`);
  if (!ctx.configFound) {
    await mkdir(dirname(ctx.configPath), { recursive: true, mode: 0o700 });
    // wx: never replace a file that appeared meanwhile.
    await writeFile(ctx.configPath, renderDefaultToml(), { flag: 'wx', mode: 0o644 });
  }
  note(!ctx.configFound, `config file ${ctx.configPath}`);

  process.stdout.write(`${made.join('\n')}\n\n`);
  const status = await offlineStatus({ config, dataDir, configFile: ctx.configPath, livePid: lockOwner(dataDir) });
  const password = process.stdout.isTTY ? (await readFile(account.passwordFile, 'utf8')).trim() : undefined;
  process.stdout.write(welcomeText({ status, config, password }));
  return 0;
}
