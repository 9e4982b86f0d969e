// `tlsim-gateway import-identity --key K --cert C [--force]`: a tlsd user keeps their key, certificate and
// fingerprint (the one their contacts know). Never while a gateway runs on the data directory.
import { readFile, stat } from 'node:fs/promises';
import { importIdentity } from '../bridge/peer-protocol.js';
import { acquireLock, GatewayLockedError } from '../daemon/lock.js';
import { ensurePrivateDir } from '../xmpp/secret-file.js';
import { CliError, loadContext, parseCommandArgs, str, UsageError } from './common.js';

export const IMPORT_USAGE = `usage: tlsim-gateway import-identity --key KEY.pem --cert CERT.pem [--force] [options]

Copies an existing tlsim (tlsd) key and certificate into the data directory, so you keep your
fingerprint. Refuses to replace a different identity unless --force; refuses while the gateway runs.`;

/** PEM key and certificate files are a few KiB; anything much larger is the wrong file. */
const MAX_PEM_BYTES = 256 * 1024;

export async function importIdentityMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, IMPORT_USAGE, {
    key: { type: 'string' },
    cert: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (!parsed) return 0;
  const keyFile = str(parsed.values.key);
  const certFile = str(parsed.values.cert);
  if (!keyFile || !certFile) throw new UsageError('import-identity needs --key and --cert', IMPORT_USAGE);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`, IMPORT_USAGE);
  const ctx = await loadContext(parsed.values);
  const [keyPem, certPem] = await Promise.all([readPem(keyFile), readPem(certFile)]);
  await ensurePrivateDir(ctx.dataDir);
  let lock;
  try {
    // Held while importing, so a gateway cannot start on half an identity.
    lock = acquireLock(ctx.dataDir);
  } catch (err) {
    if (err instanceof GatewayLockedError) {
      throw new CliError(`the gateway (PID ${err.pid}) is running on ${ctx.dataDir}: stop it before importing an identity`);
    }
    throw err;
  }
  try {
    const id = await importIdentity(ctx.dataDir, keyPem, certPem, { force: parsed.values.force === true });
    process.stdout.write(`imported identity ${id.fingerprint} into ${ctx.dataDir}\n`);
    return 0;
  } catch (err) {
    throw new CliError((err as Error).message.replace('(use force)', '(use --force)'));
  } finally {
    lock.release();
  }
}

async function readPem(file: string): Promise<string> {
  try {
    const s = await stat(file);
    if (s.size > MAX_PEM_BYTES) throw new CliError(`${file} is ${s.size} bytes: not a PEM key or certificate`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
