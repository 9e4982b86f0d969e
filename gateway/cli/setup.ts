// `tlsim-gateway setup pidgin|gajim|profanity|dino`: puts the gateway account into the client. Pidgin,
// Profanity, Gajim and Dino are configured from files (their account files merged, never rewritten; the server
// certificate pinned where the client looks, so no certificate question); what files cannot do is printed as steps.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { accountBlock, mergeAccount } from '../../clients/pidgin/accounts-xml.js';
import { loadOrCreateLocalAccount } from '../xmpp/local-account.js';
import { loadOrCreateServerTls } from '../xmpp/local-ca.js';
import { ensurePrivateDir, writeFileAtomic } from '../xmpp/secret-file.js';
import { CliError, loadContext, parseCommandArgs, str, UsageError, type CliContext } from './common.js';
import { gatewayStatus } from './gateway-access.js';
import { DINO_USAGE, setupDino } from './setup-dino.js';
import { GAJIM_USAGE, setupGajim } from './setup-gajim.js';
import { PROFANITY_USAGE, setupProfanity } from './setup-profanity.js';

export const SETUP_USAGE = `usage: tlsim-gateway setup pidgin|gajim|profanity|dino [--dry-run] [--purple-dir DIR] [--profanity-dir DIR] [options]

pidgin: adds the gateway account (me@localhost, connect server 127.0.0.1 and the c2s port) to
  ~/.purple/accounts.xml, keeping every other account (a backup accounts.xml.bak-<time> is made), and pins
  the gateway's certificate in ~/.purple/certificates/x509/tls_peers/127.0.0.1 so Pidgin does not ask.
  Quit Pidgin first: it rewrites accounts.xml when it exits. --dry-run shows the change and writes nothing.
${PROFANITY_USAGE}
${GAJIM_USAGE}
${DINO_USAGE}`;

const CLIENTS = ['pidgin', 'gajim', 'profanity', 'dino'] as const;

export interface Endpoint {
  jid: string;
  user: string;
  domain: string;
  port: number;
  password: string;
  passwordFile: string;
  certPem: string;
  caCertFile: string;
}

async function endpoint(ctx: CliContext): Promise<Endpoint> {
  const { config, dataDir } = ctx;
  await ensurePrivateDir(dataDir);
  const account = await loadOrCreateLocalAccount(dataDir, config.account.user);
  const tls = await loadOrCreateServerTls(dataDir, config.account.domain);
  // A running gateway with c2s.port = 0 listens on a port only it knows.
  const running = await gatewayStatus(ctx);
  const port = running.running && running.c2sPort ? running.c2sPort : config.c2s.port;
  if (port === 0) throw new CliError('c2s.port is 0 (a free port at each start): start the gateway first, or set a fixed port');
  return {
    jid: `${config.account.user}@${config.account.domain}`,
    user: config.account.user,
    domain: config.account.domain,
    port,
    password: (await readFile(account.passwordFile, 'utf8')).trim(),
    passwordFile: account.passwordFile,
    certPem: tls.certPem,
    caCertFile: tls.caCertFile,
  };
}

export async function setupMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, SETUP_USAGE, {
    'dry-run': { type: 'boolean' },
    'purple-dir': { type: 'string' },
    'profanity-dir': { type: 'string' },
  });
  if (!parsed) return 0;
  const client = parsed.positionals[0];
  if (!client || !(CLIENTS as readonly string[]).includes(client) || parsed.positionals.length > 1) {
    throw new UsageError(client ? `unknown client "${client}"` : 'which client?', SETUP_USAGE);
  }
  const ep = await endpoint(await loadContext(parsed.values));
  if (client === 'pidgin') {
    const dir = str(parsed.values['purple-dir']) ?? join(homedir(), '.purple');
    process.stdout.write(await setupPidgin(dir, ep, Boolean(parsed.values['dry-run'])));
  } else if (client === 'profanity') {
    const dir = str(parsed.values['profanity-dir']) ?? join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'profanity');
    process.stdout.write(await setupProfanity(dir, ep, Boolean(parsed.values['dry-run'])));
  } else if (client === 'gajim') {
    process.stdout.write(await setupGajim(ep, Boolean(parsed.values['dry-run'])));
  } else {
    process.stdout.write(await setupDino(ep, Boolean(parsed.values['dry-run'])));
  }
  return 0;
}

/** Writes (or with dryRun describes) the Pidgin account and the pinned certificate; returns what it says. */
export async function setupPidgin(purpleDir: string, ep: Endpoint, dryRun: boolean): Promise<string> {
  const accountsFile = join(purpleDir, 'accounts.xml');
  const certFile = join(purpleDir, 'certificates', 'x509', 'tls_peers', '127.0.0.1');
  const old = existsSync(accountsFile) ? await readFile(accountsFile, 'utf8') : undefined;
  const merged = mergeAccount(old, { name: `${ep.jid}/pidgin`, password: ep.password, connectServer: '127.0.0.1', port: ep.port });
  const oldCert = existsSync(certFile) ? await readFile(certFile, 'utf8') : undefined;
  const certChanges = oldCert?.trim() !== ep.certPem.trim();
  const out: string[] = [];
  const shown = accountBlock({ name: `${ep.jid}/pidgin`, password: '********', connectServer: '127.0.0.1', port: ep.port });
  const kept = `${merged.others} other account${merged.others === 1 ? '' : 's'} kept`;
  if (merged.change === 'unchanged') out.push(`${accountsFile}: ${ep.jid} is already set up (${kept}); nothing to change.`);
  else out.push(`${accountsFile}: ${merged.change === 'added' ? 'add' : 'update'} ${ep.jid} (${kept}):`, ...shown.split('\n').map((l) => `+ ${l}`));
  out.push(certChanges ? `${certFile}: ${oldCert ? 'replace the pinned certificate with' : 'pin'} the gateway's server certificate` : `${certFile}: the gateway's certificate is already pinned.`);
  if (dryRun) return `${out.join('\n')}\n(dry run: nothing written)\n`;
  // Passwords inside: 0600, as Pidgin keeps it.
  if (merged.change !== 'unchanged') out.push(...(await replaceKeepingBackup(accountsFile, old, merged.text)));
  if (certChanges) {
    await mkdir(join(purpleDir, 'certificates', 'x509', 'tls_peers'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(certFile, ep.certPem, 0o644);
  }
  out.push(
    merged.change === 'unchanged' && !certChanges
      ? 'Pidgin is set up.'
      : 'Done. Start Pidgin (quit it first if it was running): the account logs in without a certificate question.',
  );
  return `${out.join('\n')}\n`;
}

/** Writes `text` to `file` (0600, its directory 0700), a copy of the old file kept next to it; says where. */
export async function replaceKeepingBackup(file: string, old: string | undefined, text: string): Promise<string[]> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const said: string[] = [];
  if (old !== undefined) {
    const backup = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await copyFile(file, backup);
    said.push(`backup of the old file: ${backup}`);
  }
  await writeFileAtomic(file, text, 0o600);
  return said;
}
