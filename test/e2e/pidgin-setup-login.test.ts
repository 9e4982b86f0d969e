// Real Pidgin (Debian's pidgin, under Xvfb) after `tlsim-gateway setup pidgin` on an accounts.xml with two
// other accounts: it logs in to the gateway with no certificate question (libpurple finds the pinned
// certificate and says so in its debug log), shows the gateway contact, and when it quits and writes
// accounts.xml itself, the two other accounts are still there. The screenshot is the buddy list.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { EXISTING, parsedByPython } from '../support/pidgin-accounts.js';
import { spawnProc, type Proc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { cli, cliHome, startInProcessGateway } from './support/gateway.js';

const T = 120_000;
const WAIT_MS = 45_000;

/** Xvfb on a display it picks itself (-displayfd): no clash with another test's display. */
async function startXvfb(): Promise<{ proc: Proc; display: string }> {
  const proc = await spawnProc('Xvfb', ['-displayfd', '1', '-screen', '0', '640x480x24', '-nolisten', 'tcp'], { stdin: 'ignore' });
  const n = await proc.waitFor((out) => /^(\d+)\s*$/m.exec(out)?.[1], 20_000, { stream: 'stdout' });
  return { proc, display: `:${n}` };
}

/**
 * The share of non-zero bytes in a PNG's filtered image data: exactly 0 for a black screen, whatever the
 * filter of each row (a drawn window gives about 1 %, most of it white rows that filter to zeros too).
 */
function litShare(png: Buffer): number {
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const data = inflateSync(Buffer.concat(idat));
  let lit = 0;
  for (const b of data) if (b !== 0) lit++;
  return lit / data.length;
}

/** Screenshots the display until something is drawn on it. */
async function drawn(file: string, env: NodeJS.ProcessEnv): Promise<void> {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const scrot = await spawnProc('scrot', ['-o', file], { env, stdin: 'ignore' });
    expect((await scrot.exited).code).toBe(0);
    if (litShare(await readFile(file)) > 0.001) return;
    if (Date.now() > end) throw new Error(`nothing drawn on the screen within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interopSuite('e2e: real Pidgin after `setup pidgin`', ['pidgin', 'xvfb', 'scrot'], () => {
  it('logs in without a certificate question, lists the gateway contact, and keeps the other accounts', async () => {
    const home = cliHome('pidgin-real');
    const gw = await startInProcessGateway({ dataDir: home.dataDir });
    let x: Awaited<ReturnType<typeof startXvfb>> | undefined;
    let pidgin: Proc | undefined;
    try {
      const purple = join(home.root, '.purple');
      await mkdir(purple, { recursive: true });
      // The other XMPP account stays offline: no test reaches example.org.
      const existing = EXISTING.replace("<setting name='auto-login' type='bool'>1</setting>", "<setting name='auto-login' type='bool'>0</setting>");
      await writeFile(join(purple, 'accounts.xml'), existing, { mode: 0o600 });
      const setup = await cli(home, ['setup', 'pidgin', '--purple-dir', purple]);
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.stdout).toContain(`add me@localhost (2 other accounts kept)`);

      x = await startXvfb();
      const env = { HOME: home.root, DISPLAY: x.display, NO_AT_BRIDGE: '1' };
      pidgin = await spawnProc('pidgin', ['-c', purple, '-d'], { env, stdin: 'ignore' });
      await pidgin.waitFor(/certificate\/x509\/tls_cached: Peer cert matched cached/, WAIT_MS);
      await pidgin.waitFor(/Successfully verified certificate for 127\.0\.0\.1/, WAIT_MS);
      await gw.log.waitFor((l) => l.msg === 'authenticated' && l.user === 'me', WAIT_MS);
      await pidgin.waitFor(/<item jid="localhost" name="tlsim gateway"/, WAIT_MS);
      // libpurple asks (purple_request) only for a certificate it does not have cached.
      expect(pidgin.output()).not.toMatch(/not in cache|is not cached|Accept certificate/i);

      // The buddy list, drawn: the screen is black until Pidgin maps its window.
      const shot = join(home.root, 'pidgin-after-setup.png');
      await drawn(shot, env);
      if (process.env.UPDATE_SCREENSHOTS === '1') await copyFile(shot, join(import.meta.dirname, '..', '..', 'clients', 'pidgin', '5-after-setup.png'));

      // Pidgin quits cleanly on SIGTERM and saves its accounts: its own file still has all three.
      await pidgin.kill();
      expect(parsedByPython(join(purple, 'accounts.xml')).map((a) => a[1])).toEqual([
        'alice@example.org/Home',
        'alice@irc.libera.chat',
        'me@localhost/pidgin',
      ]);
    } finally {
      await pidgin?.kill();
      await x?.proc.kill();
      await gw.stop();
    }
  }, T);
});
