// Real Gajim (Debian's gajim 1.7, under Xvfb) after `tlsim-gateway setup gajim` into a temp HOME: it logs in
// at start with no certificate question (setup put the server certificate in Gajim's cert_store and the
// account, with its password, in settings.sqlite). The gateway holds a bound session with Gajim's resource
// that sent its presence; Gajim's log shows the roster it fetched. A room the user hosts is bookmarked with
// autojoin: Gajim joins it by itself, receives a gnutls-cli member's line, and a line typed into its window
// (xdotool) reaches the member. The screenshot is Gajim's window with the room.
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it, onTestFailed } from 'vitest';
import { killAll, spawnProc, waitUntil, type Proc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { drawn, startXvfb } from '../support/xvfb.js';
import { cli, cliHome, startInProcessGateway } from './support/gateway.js';
import { desktopEnv, hostedRoomWithMember, xdotool } from './support/desktop-clients.js';
import { slixUser } from './support/slixmpp-users.js';

const T = 60_000;
const WAIT_MS = 30_000;

/** Gajim refuses to run as root ("it is insecure"): as root, it runs as nobody, its directories given to it. */
async function asUser(home: string, dirs: string[]): Promise<string[]> {
  if (process.getuid?.() !== 0) return [];
  // mkdtemp made the home 0700: nobody must get through it to its own directories (the gateway's stay 0700).
  for (const d of [home, join(home, 'config'), join(home, 'data')]) await chmod(d, 0o755);
  const chown = await spawnProc('chown', ['-R', 'nobody', ...dirs], { stdin: 'ignore' });
  expect((await chown.exited).code).toBe(0);
  return ['runuser', '-u', 'nobody', '--'];
}

interopSuite('e2e: real Gajim after `setup gajim`', ['gajim', 'xvfb', 'scrot', 'xdotool', 'slixmpp', 'gnutls-cli', 'openssl'], () => {
  it('logs in at start with no certificate question, binds its resource, fetches the roster, joins a hosted room by its bookmark, and talks there with a gnutls-cli member', async () => {
    const home = cliHome('gajim-real');
    const gw = await startInProcessGateway({ dataDir: home.dataDir });
    let x: Awaited<ReturnType<typeof startXvfb>> | undefined;
    let gajim: Proc | undefined;
    onTestFailed(() => console.log(`${gw.log.tail(30)}\n--- gajim ---${gajim?.tails(6_000)}`));
    try {
      // A room the user hosts (typed from another client of the account), with a gnutls-cli member in it.
      const other = await slixUser(gw);
      const carol = await hostedRoomWithMember(other, 'party', 'carol');
      await other.stop();

      const setup = await cli(home, ['setup', 'gajim']);
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.stdout).toContain('add account localhost (0 other accounts kept)');

      x = await startXvfb('1024x768');
      const env = desktopEnv(home, x.display);
      await mkdir(env.XDG_CACHE_HOME!, { recursive: true });
      const prefix = await asUser(home.root, [join(home.root, 'config', 'gajim'), join(home.root, 'data', 'gajim'), env.XDG_CACHE_HOME]);
      const argv = [...prefix, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'gajim', '--verbose'];
      gajim = await spawnProc(argv[0]!, argv.slice(1), { stdin: 'ignore', group: true });

      // nbxmpp finds the gateway's CA unknown, and Gajim's cert_store has the very certificate: no question.
      await gajim.waitFor(/cert_store\s*\|\s*Loaded: tlsim-gateway-/, WAIT_MS);
      await gw.log.waitFor((l) => l.msg === 'authenticated' && l.user === 'me', WAIT_MS);
      await gajim.waitFor(/<jid>me@localhost\/gajim<\/jid>/, WAIT_MS);
      await gajim.waitFor(/<query xmlns="jabber:iq:roster"[^>]*><item jid="localhost" name="tlsim gateway"/, WAIT_MS);
      // On the gateway: the session Gajim bound, online (its presence comes after the roster).
      const user = gw.running.server.users.all()[0]!;
      await expect.poll(() => user.router.get('gajim')?.available, { timeout: WAIT_MS, interval: 200 }).toBe(true);
      expect(gajim.output()).not.toMatch(/BAD_CERTIFICATE|Certificate Verification Failed|password request/i);

      // The room is bookmarked with autojoin: Gajim comes in by itself, and reads what carol says.
      await carol.waitFor(/^\d\d:\d\d \* (?!carol\[)\w+\[\d+\] joins$/m, WAIT_MS);
      const alias = /^\d\d:\d\d \* ((?!carol\[)\w+)\[\d+\] joins$/m.exec(carol.member.received())![1]!;
      await carol.member.type('hello gajim\n');
      await gajim.waitFor(/type="groupchat"[^>]*from="party@conference\.localhost\/carol"[^>]*>.*<body>hello gajim<\/body>|from="party@conference\.localhost\/carol"[^>]*type="groupchat"[^>]*>.*<body>hello gajim<\/body>/, WAIT_MS);

      const shot = join(home.root, 'gajim-after-setup.png');
      await drawn(shot, env, WAIT_MS);

      // A line from Gajim's own window: open the room (its row in the chat list), type, Enter. On a loaded machine X
      // input can land before the row or the entry is ready: when Gajim has not sent the line a few seconds later,
      // open and type again (the entry emptied first). The room's delivery is waited for once.
      const xdo = (...args: string[]): Promise<void> => xdotool(x!.display, ...args);
      const sent = () => /<body>hi from gajim<\/body>/.test(gajim!.output());
      for (let attempt = 1; !sent(); attempt++) {
        if (attempt > 3) throw new Error('Gajim never sent "hi from gajim" after 3 tries');
        await xdo('mousemove', '160', '165', 'click', '1');
        await new Promise((r) => setTimeout(r, 1_500));
        await xdo('key', 'ctrl+a', 'BackSpace');
        await xdo('type', '--delay', '30', 'hi from gajim');
        await xdo('key', 'Return');
        await waitUntil(sent, 8_000).catch(() => undefined);
      }
      await carol.waitFor(new RegExp(`^\\d\\d:\\d\\d ${alias}\\[\\d+\\]: hi from gajim$`, 'm'), WAIT_MS);
      // The room's copy comes back to Gajim (once, with its origin-id), then the window is kept.
      await gajim.waitFor(/type="groupchat"[^\n]*<body>hi from gajim<\/body>|<body>hi from gajim<\/body>[^\n]*type="groupchat"/, WAIT_MS);
      await new Promise((r) => setTimeout(r, 1_000));
      await drawn(shot, env, WAIT_MS);
      if (process.env.UPDATE_SCREENSHOTS === '1') await copyFile(shot, join(import.meta.dirname, '..', '..', 'clients', 'gajim', '1-after-setup.png'));
    } finally {
      await gajim?.kill();
      await x?.proc.kill();
      await gw.stop();
      await killAll();
    }
  }, T);
});
