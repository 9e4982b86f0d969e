// A full disk and a read-only data directory under real SQLite (issue 16 §2): the data directory is a small tmpfs
// mounted for the test (the machine runs the tests as root; elsewhere the test says why it cannot run), filled up
// with a file, or remounted read-only. Sending is refused with a reason the user's client shows; a peer's message
// that cannot be kept is not acknowledged, so its gateway keeps it; once there is room, everything goes through once.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/index.js';
import { StanzaError } from '../../gateway/xmpp/errors.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { stopTlsimGateway, stopTlsimGateways, tlsimGateway } from '../support/tlsim-gateways.js';

const mountPoint = join(tmpDir('store-full'), 'mnt');
mkdirSync(mountPoint, { recursive: true });
const mounted = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('store-full: cannot mount a tmpfs here (not root?): the disk-full and read-only cases cannot run');
    return false;
  }
})();
const filler = join(mountPoint, 'filler');

/** Fills the tmpfs up to `leave` bytes. */
function fill(leave = 0): void {
  const s = statfsSync(mountPoint);
  writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - leave)));
}

let alice: Identity;
let bob: Identity;
beforeAll(async () => {
  [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
});
afterEach(async () => {
  await stopTlsimGateways();
  if (!mounted) return;
  execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
  rmSync(join(mountPoint, 'data'), { recursive: true, force: true });
  rmSync(filler, { force: true });
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  removeTmpDirs();
});

describe.skipIf(!mounted)('the store on a full or read-only disk', () => {
  it('a full disk: sending is refused with "disk is full" (never reported sent), and works again once there is room', async () => {
    const a = await tlsimGateway(alice, { dir: join(mountPoint, 'data') });
    const b = await tlsimGateway(bob, { policy: 'accept' });
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    fill();
    let err: StanzaError | undefined;
    for (let i = 0; i < 50 && !err; i++) {
      // Refused at once, or (group commit) by its `kept` at the end of the loop turn: never both sent and lost.
      err = await a.net.sendText(bob.fingerprint, `big ${i} ${'x'.repeat(100_000)}`).then((o) => o.kept, (e: StanzaError) => { throw e; }).then(() => undefined, (e: StanzaError) => e);
    }
    expect(err).toBeInstanceOf(StanzaError);
    expect(err).toMatchObject({ condition: 'resource-constraint', text: "not kept: the gateway's disk is full" });
    rmSync(filler);
    expect((await a.net.sendText(bob.fingerprint, 'after the disk was freed')).status).toMatch(/sent|queued/);
    await b.sink.until(() => b.sink.texts.some((t) => t.text === 'after the disk was freed'), 'bob gets the message after');
  }, 30_000);

  it("a full disk at the receiving gateway: the peer's message is not acknowledged, stays queued at its gateway, and arrives once later", async () => {
    const a = await tlsimGateway(alice);
    const b = await tlsimGateway(bob, { policy: 'accept', dir: join(mountPoint, 'data') });
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    fill();
    const n = 40;
    for (let i = 0; i < n; i++) await a.net.sendText(bob.fingerprint, `m${i} ${'y'.repeat(50_000)}`);
    await new Promise((r) => setTimeout(r, 1_500));
    // What B could not keep it did not acknowledge: A still has it.
    const shown = b.sink.texts.length;
    expect(shown).toBeLessThan(n);
    expect(a.net.selfInfo().queued).toBe(n - shown);
    rmSync(filler);
    await a.sink.until(() => a.net.selfInfo().queued === 0, "alice's queue empties once there is room", 20_000);
    await b.sink.until(() => b.sink.texts.length >= n, 'bob gets them all');
    expect(b.sink.texts.map((t) => t.text.slice(0, t.text.indexOf(' ')))).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
  }, 40_000);

  it('a read-only data directory: the gateway does not start, and the error names the database', async () => {
    const dir = join(mountPoint, 'data');
    await stopTlsimGateway(await tlsimGateway(alice, { dir }));
    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    const err = await tlsimGateway(alice, { dir }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    // The operating system's words and the path: what the user needs to fix it.
    expect(err?.message).toMatch(/read-only file system/);
    expect(err?.message).toContain(dir);
  }, 30_000);
});
