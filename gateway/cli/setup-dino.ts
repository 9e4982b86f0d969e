// `tlsim-gateway setup dino`: the account into Dino's dino.db (clients/dino/dino-files.ts). What files cannot do
// is said as steps: Dino has no host or port setting (it finds the server by DNS SRV records, else at
// <domain>:5222) and trusts only the system's certificate store, so the gateway's CA goes there once.
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { mergeDinoAccount } from '../../clients/dino/dino-files.js';
import type { Endpoint } from './setup.js';

export const DINO_USAGE = `dino: adds the account to Dino's $XDG_DATA_HOME/dino/dino.db, keeping every other account, enabled so
  Dino connects at start; prints the one step files cannot do (trusting the gateway's CA in the system store).
  Dino reaches the gateway only at <domain>:5222 (c2s.port = 5222, the default). Quit Dino first.`;

export async function setupDino(ep: Endpoint, dryRun: boolean): Promise<string> {
  const dir = join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'dino');
  const file = join(dir, 'dino.db');
  const exists = existsSync(file);
  if (!dryRun) await mkdir(dir, { recursive: true, mode: 0o700 });
  const merged = mergeDinoAccount(file, { jid: ep.jid, password: ep.password, resource: 'dino', alias: ep.user }, { dryRun, exists });
  const kept = `${merged.others} other account${merged.others === 1 ? '' : 's'} kept`;
  const out: string[] = [];
  if (merged.change === 'unchanged') out.push(`${file}: ${ep.jid} is already set up (${kept}); nothing to change.`);
  else out.push(`${file}: ${merged.change === 'added' ? 'add' : 'update'} account ${ep.jid} (${kept}), enabled, connect at start`);
  if (ep.port !== 5222) {
    out.push(`Dino looks for ${ep.domain} at port 5222 only, and the gateway listens on ${ep.port}: set c2s.port = 5222 and restart it.`);
  }
  out.push(
    "Dino trusts only the system's certificate store: trust the gateway's CA there once (it signs only this gateway's certificate):",
    `  sudo cp ${ep.caCertFile} /usr/local/share/ca-certificates/tlsim-gateway.crt && sudo update-ca-certificates`,
  );
  if (dryRun) return `${out.join('\n')}\n(dry run: nothing written)\n`;
  // The password is in it, as Dino keeps it: owner only.
  await chmod(file, 0o600);
  out.push('Done. Quit Dino if it runs, then start it: the account connects.');
  return `${out.join('\n')}\n`;
}
