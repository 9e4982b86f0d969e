// One gateway per data directory: a lock file holding the owner's PID, taken over when that process is gone.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'gateway.pid';

export class GatewayLockedError extends Error {
  constructor(
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `another tlsim-gateway (PID ${pid}) is using this data directory (${lockFile}); ` +
        `stop it first (kill ${pid}), or, if PID ${pid} is not a tlsim-gateway, delete ${lockFile}`,
    );
    this.name = 'GatewayLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): void;
}

/** The PID in the lock file if that process is alive, else undefined (no lock, a stale one, or garbage). */
export function lockOwner(dataDir: string): number | undefined {
  const pid = readPid(join(dataDir, LOCK_FILE));
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Takes the data directory for this process, or throws GatewayLockedError naming the live owner. */
export function acquireLock(dataDir: string, pid = process.pid): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  // Two rounds: the second one after removing a stale lock; losing that race to another starter is a live owner.
  for (let round = 0; round < 2; round++) {
    try {
      // wx: creation is atomic, so of two gateways starting together exactly one gets the file.
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return {
        file,
        release: () => {
          if (readPid(file) === pid) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readPid(file);
    if (owner !== undefined && owner !== pid && isAlive(owner)) throw new GatewayLockedError(owner, file);
    // A crash (kill -9, power cut) left it behind: nobody holds it.
    rmSync(file, { force: true });
  }
  const owner = readPid(file);
  throw new GatewayLockedError(owner ?? 0, file);
}

function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Signal 0 only checks: EPERM means the process exists but belongs to someone else. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
