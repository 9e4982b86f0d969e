// `tlsim-gateway setup profanity`: the account into Profanity's accounts file and the gateway's server
// certificate into its tlscerts file (clients/profanity/profanity-files.ts), so `profanity -a me@localhost`
// logs in with no certificate question.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeProfanityAccount, pinProfanityCert } from '../../clients/profanity/profanity-files.js';
import { KeyFileError } from '../../clients/profanity/keyfile.js';
import { CliError } from './common.js';
import { replaceKeepingBackup, type Endpoint } from './setup.js';

export const PROFANITY_USAGE = `profanity: adds the account (named after its JID, password read from the gateway's password file at
  each login) to $XDG_DATA_HOME/profanity/accounts (or --profanity-dir DIR), keeping every other account
  (a backup is made), and pins the server certificate in tlscerts there, so Profanity does not ask.
  Quit Profanity first: it rewrites its accounts file when an account changes.`;

const readIfThere = async (file: string): Promise<string | undefined> => (existsSync(file) ? readFile(file, 'utf8') : undefined);

export async function setupProfanity(dir: string, ep: Endpoint, dryRun: boolean): Promise<string> {
  const accountsFile = join(dir, 'accounts');
  const certsFile = join(dir, 'tlscerts');
  const [oldAccounts, oldCerts] = await Promise.all([readIfThere(accountsFile), readIfThere(certsFile)]);
  let account: ReturnType<typeof mergeProfanityAccount>;
  let pin: ReturnType<typeof pinProfanityCert>;
  try {
    account = mergeProfanityAccount(oldAccounts, { jid: ep.jid, user: ep.user, server: '127.0.0.1', port: ep.port, passwordFile: ep.passwordFile });
    pin = pinProfanityCert(oldCerts, ep.certPem);
  } catch (err) {
    if (err instanceof KeyFileError) throw new CliError(`${err.message}; nothing written`);
    throw err;
  }
  const kept = `${account.others} other account${account.others === 1 ? '' : 's'} kept`;
  const out: string[] = [];
  if (account.change === 'unchanged') out.push(`${accountsFile}: ${ep.jid} is already set up (${kept}); nothing to change.`);
  else {
    out.push(`${accountsFile}: ${account.change === 'added' ? 'add' : 'update'} account ${account.name} (${kept}):`);
    out.push(`+ jid=${ep.jid}, server=127.0.0.1, port=${ep.port}, tls.policy=force, password read from ${ep.passwordFile}`);
  }
  out.push(
    pin.merge.change === 'unchanged'
      ? `${certsFile}: the gateway's certificate (${pin.fingerprint}) is already trusted.`
      : `${certsFile}: trust the gateway's server certificate (SHA-1 ${pin.fingerprint})`,
  );
  if (dryRun) return `${out.join('\n')}\n(dry run: nothing written)\n`;
  if (account.change !== 'unchanged') out.push(...(await replaceKeepingBackup(accountsFile, oldAccounts, account.text)));
  // Profanity keeps both files 0600 itself.
  if (pin.merge.change !== 'unchanged') await replaceKeepingBackup(certsFile, undefined, pin.merge.text);
  out.push(`Done. Quit Profanity if it runs, then: profanity -a ${account.name}   (or /connect ${account.name} inside it)`);
  return `${out.join('\n')}\n`;
}
