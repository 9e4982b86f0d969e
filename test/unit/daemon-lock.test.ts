// One gateway per data directory: the lock file's owner, stale take-over, and release only by the owner.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayLockedError, LOCK_FILE, acquireLock, lockOwner } from '../../gateway/daemon/lock.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(removeTmpDirs);

/** A PID that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('data directory lock', () => {
  it('writes our PID, refuses a second owner naming the first, and is gone after release', () => {
    const dir = tmpDir();
    const lock = acquireLock(dir, process.pid);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    expect(lockOwner(dir)).toBe(process.pid);
    // Another live process already holds it (our parent stands in for it).
    writeFileSync(join(dir, LOCK_FILE), `${process.ppid}\n`);
    expect(() => acquireLock(dir, 424242)).toThrow(GatewayLockedError);
    expect(() => acquireLock(dir, 424242)).toThrow(`PID ${process.ppid}`);
    // Not ours any more: release leaves the other owner's file alone.
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
  });

  it('takes over a lock left by a dead process or holding garbage', () => {
    for (const content of [`${deadPid()}\n`, 'not a pid\n', '']) {
      const dir = tmpDir();
      writeFileSync(join(dir, LOCK_FILE), content);
      expect(lockOwner(dir)).toBeUndefined();
      const lock = acquireLock(dir);
      expect(lockOwner(dir)).toBe(process.pid);
      lock.release();
      lock.release();
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    }
  });
});
