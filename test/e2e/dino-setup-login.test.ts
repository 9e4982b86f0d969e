// Real Dino (Debian's dino-im 0.4, under Xvfb) after `tlsim-gateway setup dino` into a temp HOME: the account is in
// its dino.db, enabled, and Dino finds the gateway the only way it can, at localhost:5222 (no host or port setting).
// It trusts only the system's certificate store, so the test does what setup's printed step does, for Dino alone: in
// a mount namespace of Dino's own (unshare -m), the system bundle with the gateway's CA added is bound over
// /etc/ssl/certs/ca-certificates.crt (where GnuTLS looks). Dino logs in with no certificate question, binds its
// resource, keeps a line from a reference peer (openssl s_server) in its own database, and a line typed into its
// window (xdotool) reaches the peer. A room the user hosts is bookmarked with autojoin: Dino joins it by itself and
// keeps a gnutls-cli member's line. The screenshot is the chat window (clients/dino/1-chat.png).
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it, onTestFailed } from 'vitest';
import { makeOpensslIdentity, tmpDir } from '../support/identities.js';
import { killAll, spawnProc, waitUntil, type Proc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { drawn, startXvfb } from '../support/xvfb.js';
import { opensslServer } from './support/reference-peer.js';
import { cli, cliHome, startInProcessGateway } from './support/gateway.js';
import { desktopEnv, hostedRoomWithMember, xdotool } from './support/desktop-clients.js';
import { gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 90_000;
const WAIT_MS = 30_000;
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** What Dino has kept of the messages from `jid` (its message table, joined to its jid table). */
function bodiesFrom(dbFile: string, jid: string): string[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true, timeout: 2_000 });
  try {
    return (db.prepare('SELECT m.body FROM message m JOIN jid j ON j.id = m.counterpart_id WHERE j.bare_jid = ? ORDER BY m.id').all(jid) as { body: string }[]).map((r) => r.body);
  } catch {
    return []; // not made yet (Dino creates its tables at start)
  } finally {
    db.close();
  }
}

/** The chats open in Dino's list, most recently active first (how its list orders them). */
function openChats(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true, timeout: 2_000 });
  try {
    const rows = db.prepare('SELECT j.bare_jid FROM conversation c JOIN jid j ON j.id = c.jid_id WHERE c.active = 1 ORDER BY c.last_active DESC').all() as { bare_jid: string }[];
    return rows.map((r) => r.bare_jid);
  } finally {
    db.close();
  }
}

interopSuite('e2e: real Dino after `setup dino`', ['dino', 'dbus-run-session', 'xvfb', 'scrot', 'xdotool', 'unshare', 'slixmpp', 'openssl', 'gnutls-cli'], () => {
  it('logs in at localhost:5222 with no certificate question, binds its resource, chats both ways with a reference peer, and joins a hosted room by its bookmark', async () => {
    if (process.getuid?.() !== 0) throw new Error('the test binds a CA bundle in a mount namespace (unshare -m): it runs as root, as CI does');
    const home = cliHome('dino-real');
    const gw = await startInProcessGateway({ dataDir: home.dataDir, c2sPort: 5222 }).catch((err: Error) => {
      throw new Error(`Dino looks for its server at localhost:5222 only, and the gateway could not listen there: ${err.message}`);
    });
    let x: Awaited<ReturnType<typeof startXvfb>> | undefined;
    let dino: Proc | undefined;
    onTestFailed(() => console.log(`${gw.log.tail(30)}\n--- dino ---${dino?.tails(6_000)}`));
    try {
      // A reference peer in the roster, added from another client of the account.
      const id = await makeOpensslIdentity(tmpDir('rex'));
      const rex = await opensslServer(id);
      const other = await slixUser(gw);
      await gatewayCommand(other, `add tlsim://${id.fingerprint}@127.0.0.1:${rex.port} Rex`, /^Added Rex/);
      // And a room the user hosts, with a gnutls-cli member in it: its bookmark (autojoin) is there at Dino's login.
      const carol = await hostedRoomWithMember(other, 'party', 'carol');
      await other.stop();

      const setup = await cli(home, ['setup', 'dino']);
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.stdout).toContain('add account me@localhost (0 other accounts kept)');

      // What `sudo update-ca-certificates` would make of setup's printed step, seen by Dino only.
      const bundle = join(home.root, 'ca-certificates.crt');
      await writeFile(bundle, `${await readFile(SYSTEM_BUNDLE, 'utf8')}\n${await readFile(gw.caCertFile, 'utf8')}`);
      x = await startXvfb('1024x768');
      const env = desktopEnv(home, x.display);
      const inner = ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'dbus-run-session', '--', 'dino-im'];
      dino = await spawnProc('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${bundle} ${SYSTEM_BUNDLE} && exec "$@"`, 'sh', ...inner], {
        stdin: 'ignore',
        group: true,
      });

      const user = gw.running.server.users.all()[0]!;
      await expect.poll(() => user.router.get('dino')?.available, { timeout: WAIT_MS, interval: 200 }).toBe(true);
      expect(dino.output()).not.toMatch(/certificate|Could not establish XMPP session/i);

      // Rex writes; Dino shows it and keeps it in its database, from Rex's JID.
      const dbFile = join(home.root, 'data', 'dino', 'dino.db');
      // The gateway dialled Rex when he was added: s_server says so for each handshake.
      await rex.proc.waitFor(/Protocol version/, WAIT_MS);
      rex.type('hello dino\n');
      await expect.poll(() => bodiesFrom(dbFile, gw.jidOf(id.fingerprint)), { timeout: WAIT_MS, interval: 500 }).toEqual(['hello dino']);
      // A line from Dino's own window: select Rex's row in its chat list (ordered by last activity, as its database
      // says, 59 px a row), type, Enter. On a loaded machine X input can land before Dino drew the row or focused the
      // entry: when Dino has not kept the line as sent to Rex a few seconds later, select and type again (the entry
      // emptied first). Whether the line then reaches Rex is the gateway's part, and is waited for once.
      const xdo = (...args: string[]): Promise<void> => xdotool(x!.display, ...args);
      const rexJid = gw.jidOf(id.fingerprint);
      const sentInDino = () => bodiesFrom(dbFile, rexJid).includes('hi rex');
      for (let attempt = 1; !sentInDino(); attempt++) {
        if (attempt > 3) throw new Error(`Dino never kept "hi rex" as sent to Rex after 3 tries; its chats: ${openChats(dbFile).join(', ')}`);
        await new Promise((r) => setTimeout(r, 1_500));
        const row = openChats(dbFile).indexOf(rexJid);
        expect(row).toBeGreaterThanOrEqual(0);
        await xdo('mousemove', '150', String(80 + 59 * row), 'click', '1');
        await new Promise((r) => setTimeout(r, 1_500));
        await xdo('key', 'ctrl+a', 'BackSpace');
        await xdo('type', '--delay', '30', 'hi rex');
        await xdo('key', 'Return');
        await waitUntil(sentInDino, 8_000).catch(() => undefined);
      }
      await rex.proc.waitFor(/hi rex/, WAIT_MS, { stream: 'stdout' });
      await new Promise((r) => setTimeout(r, 1_000));
      await drawn(join(home.root, 'dino.png'), env, WAIT_MS);
      if (process.env.UPDATE_SCREENSHOTS === '1') await copyFile(join(home.root, 'dino.png'), join(import.meta.dirname, '..', '..', 'clients', 'dino', '1-chat.png'));

      // Dino joins the bookmarked room by itself and keeps what carol says there.
      await carol.waitFor(/^\d\d:\d\d \* (?!carol\[)\w+\[\d+\] joins$/m, WAIT_MS);
      await carol.member.type('hello room\n');
      await expect.poll(() => bodiesFrom(dbFile, 'party@conference.localhost'), { timeout: WAIT_MS, interval: 500 }).toContain('hello room');
    } finally {
      await dino?.kill();
      await x?.proc.kill();
      await gw.stop();
      await killAll();
    }
  }, T);
});
