// Files holding secrets (the local XMPP password, SASL credentials, TLS keys): owner-only
// directories and files, replaced atomically so a crash never leaves half a key.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Creates `dir` (and missing parents) as 0700, and tightens it to 0700 if it existed. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Writes `data` to `path` through a temporary file in the same directory: fsync, then
 * rename, so readers see the old file or the new one, never a torn one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // wx: never follow or reuse something already there; mode is set at creation.
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode); // the umask may have dropped bits we asked for (never added)
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes a secret: mode 0600 in a 0700 directory. */
export function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  return writeFileAtomic(path, data, 0o600);
}
