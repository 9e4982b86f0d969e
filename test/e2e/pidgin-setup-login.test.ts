// Real Pidgin (Debian's pidgin, under Xvfb) after `tlsim-gateway setup pidgin` on an accounts.xml with two
// other accounts: it logs in to the gateway with no certificate question (libpurple finds the pinned
// certificate and says so in its debug log), shows the gateway contact, and when it quits and writes
// accounts.xml itself, the two other accounts are still there. The screenshot is the buddy list.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EXISTING, parsedByPython } from '../support/pidgin-accounts.js';
import { spawnProc, type Proc } from '../support/proc.js';
import { drawn, startXvfb } from '../support/xvfb.js';
import { interopSuite } from '../support/tools.js';
import { cli, cliHome, startInProcessGateway } from './support/gateway.js';

const T = 120_000;
const WAIT_MS = 45_000;

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
      await drawn(shot, env, WAIT_MS);
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
