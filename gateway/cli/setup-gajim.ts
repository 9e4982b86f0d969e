// `tlsim-gateway setup gajim`: the account into Gajim's settings.sqlite and the gateway's server certificate
// into its cert_store (clients/gajim/gajim-files.ts), so Gajim logs in at start with no certificate question.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { mergeGajimAccount } from '../../clients/gajim/gajim-files.js';
import { writeFileAtomic } from '../xmpp/secret-file.js';
import type { Endpoint } from './setup.js';

export const GAJIM_USAGE = `gajim: adds the account (custom host 127.0.0.1 and the c2s port, STARTTLS) to Gajim's
  $XDG_CONFIG_HOME/gajim/settings.sqlite, keeping every other account, and puts the server certificate in
  $XDG_DATA_HOME/gajim/cert_store, so Gajim does not ask. Quit Gajim first: it writes its settings back.`;

const xdg = (name: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME', fallback: string[]): string => process.env[name] || join(homedir(), ...fallback);

export async function setupGajim(ep: Endpoint, dryRun: boolean): Promise<string> {
  const configDir = join(xdg('XDG_CONFIG_HOME', ['.config']), 'gajim');
  const certDir = join(xdg('XDG_DATA_HOME', ['.local', 'share']), 'gajim', 'cert_store');
  const settings = join(configDir, 'settings.sqlite');
  const der = new X509Certificate(ep.certPem).raw;
  const certFile = join(certDir, `tlsim-gateway-${createHash('sha256').update(der).digest('hex').slice(0, 16)}.pem`);
  const exists = existsSync(settings);
  if (!dryRun) await mkdir(configDir, { recursive: true, mode: 0o700 });
  const account = { user: ep.user, domain: ep.domain, host: '127.0.0.1', port: ep.port, password: ep.password };
  const merged = mergeGajimAccount(settings, account, { dryRun, exists });
  const pinned = existsSync(certFile) && (await readFile(certFile, 'utf8')).trim() === ep.certPem.trim();
  const kept = `${merged.others} other account${merged.others === 1 ? '' : 's'} kept`;
  const out: string[] = [];
  if (merged.change === 'unchanged') out.push(`${settings}: ${ep.jid} is already set up (${kept}); nothing to change.`);
  else {
    out.push(`${settings}: ${merged.change === 'added' ? 'add' : 'update'} account ${merged.name} (${kept}):`);
    out.push(`+ ${ep.jid}, custom host 127.0.0.1 port ${ep.port}, STARTTLS, active, connect at start`);
  }
  out.push(pinned ? `${certFile}: the gateway's certificate is already trusted.` : `${certFile}: trust the gateway's server certificate`);
  if (dryRun) return `${out.join('\n')}\n(dry run: nothing written)\n`;
  // The password may be in it: owner only, as Gajim keeps its own.
  await chmod(settings, 0o600);
  if (!pinned) {
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(certFile, ep.certPem, 0o600);
  }
  if (!merged.passwordSaved) out.push(`Gajim keeps passwords in your keyring: at the first login it asks once; paste the password from ${ep.passwordFile}.`);
  out.push('Done. Quit Gajim if it runs, then start it: the account logs in with no certificate question.');
  return `${out.join('\n')}\n`;
}
