// Real Profanity (Debian's profanity 0.13, a curses client, in tmux) after `tlsim-gateway setup profanity`
// into a temp HOME: it logs in with no certificate question (setup pinned the server certificate in
// Profanity's tlscerts), chats both ways with a reference peer added by its share string (gnutls-serv, which
// echoes the line back), hosts and joins a
// room where a gnutls-cli member talks, and sends a file with /sendfile (XEP-0363) to a slixmpp user of the
// same gateway, who downloads it bit-exact. The screens are kept as text under clients/profanity/.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { ProfanityTui } from '../../clients/profanity/driver.js';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { joinChat, MINUTE } from '../support/tlsd-chat-member.js';
import { interopSuite } from '../support/tools.js';
import { cli, cliHome, startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { gnutlsServ, type ListeningPeer } from './support/reference-peer.js';
import { slixUser } from './support/slixmpp-users.js';

const T = 60_000;
const W = 20_000;
const CAPTURES = join(import.meta.dirname, '..', '..', 'clients', 'profanity');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interopSuite('e2e: real Profanity after `setup profanity`', ['profanity', 'tmux', 'gnutls-serv', 'gnutls-cli', 'openssl', 'slixmpp', 'aiohttp'], () => {
  const home = cliHome('profanity-real');
  let gw: E2eGateway;
  let prof: ProfanityTui;
  let rex: ListeningPeer;
  let bob: SlixmppClient;

  /** The screens a person would look at, kept with UPDATE_SCREENSHOTS=1 (as the Pidgin screenshots are). */
  const keep = async (name: string): Promise<void> => {
    const file = join(home.root, name);
    await prof.saveScreen(file);
    if (process.env.UPDATE_SCREENSHOTS === '1') await copyFile(file, join(CAPTURES, name));
  };

  beforeAll(async () => {
    gw = await startInProcessGateway({ dataDir: home.dataDir, web: true });
    const setup = await cli(home, ['setup', 'profanity']);
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.stdout).toContain('add account me@localhost (0 other accounts kept)');
    prof = await ProfanityTui.start({ env: { HOME: home.root, XDG_DATA_HOME: home.env.XDG_DATA_HOME!, XDG_CONFIG_HOME: home.env.XDG_CONFIG_HOME! }, account: 'me@localhost' });
  }, T);

  afterAll(async () => {
    await prof?.stop();
    await bob?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('logs in with no certificate question, as me@localhost/profanity', async () => {
    onTestFailed(() => console.log(gw.log.tail(30)));
    await prof.waitFor(/me@localhost\/profanity logged in successfully/, W);
    await gw.log.waitFor((l) => l.msg === 'authenticated' && l.user === 'me', W);
    expect(gw.running.server.users.all()[0]!.router.get('profanity')).toBeDefined();
    expect(await prof.screen()).not.toMatch(/TLS certificate verification failed|\/tls allow/);
  }, T);

  it('chats both ways with a reference peer (gnutls-serv --echo) added by its share string', async () => {
    onTestFailed(() => console.log(`${gw.log.tail(30)}\n--- gnutls-serv ---${rex?.proc.tails(2_000)}`));
    const id = await makeOpensslIdentity(tmpDir('rex'));
    rex = await gnutlsServ(id);
    await prof.type(`/msg localhost add tlsim://${id.fingerprint}@127.0.0.1:${rex.port} Rex`);
    await prof.waitFor(/tlsim gateway: Added Rex/, W);
    // Profanity names a contact by its roster name.
    await prof.type(`/msg ${gw.jidOf(id.fingerprint)} hello rex`);
    await rex.proc.waitFor(/hello rex/, W);
    // gnutls-serv --echo sends the line back: Profanity shows it from the contact, by its roster name.
    await prof.waitFor(/Rex\/tlsim: hello rex/, W);
    await keep('1-chat.txt');
  }, T);

  it('hosts a room through the gateway contact, joins it, and talks with a gnutls-cli member', async () => {
    onTestFailed(() => console.log(gw.log.tail(30)));
    await prof.type('/msg localhost room host party');
    const share = (await prof.waitFor(/Hosting room party[\s\S]*?tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:(\d+)/, W))[1]!;
    await prof.type('/join party@conference.localhost');
    // setup gives the account its nick in rooms (Profanity would take the domain otherwise).
    await prof.waitFor(/You have joined the room as me\b/, W);
    const carol = await joinChat({ port: Number(share) }, await makeOpensslIdentity(tmpDir('carol')), 'carol');
    await carol.waitFor(/^\d\d:\d\d \* me\[\d+\] joins$/m);
    await carol.member.type('hello from carol\n');
    await prof.waitFor(/carol: hello from carol/, W);
    await prof.type('hi carol');
    await carol.waitFor(new RegExp(`^${MINUTE} me\\[\\d+\\]: hi carol$`, 'm'));
    // Profanity's own line, once: the room's copy carries its origin-id (without it Profanity showed it twice).
    await prof.waitFor(/me: hi carol/, W);
    await new Promise((r) => setTimeout(r, 500));
    expect((await prof.screen()).match(/ - me: hi carol\b/g)).toHaveLength(1);
    await keep('2-room.txt');
  }, T);

  it('sends a file with /sendfile (XEP-0363) to a slixmpp user of the same gateway, who gets it bit-exact', async () => {
    onTestFailed(() => console.log(`${gw.log.tail(30)}\n--- bob ---\n${bob?.recent(20)}`));
    await gw.running.accounts.add('bob');
    const info = (await gw.running.accounts.list()).find((a) => a.jid === 'bob@localhost')!;
    bob = await slixUser(gw, { jid: 'bob@localhost/slix', password: (await readFile(info.passwordFile, 'utf8')).trim() });
    const bytes = randomBytes(200_000);
    const file = join(tmpDir('profanity-file'), 'notes.bin');
    await writeFile(file, bytes);
    const from = bob.mark();
    // From the console: in a room's window /msg is a private message to an occupant.
    await prof.type('/win 1');
    await prof.type('/msg bob@localhost a file for you');
    await bob.nextMessage((m) => m.body === 'a file for you', W, from);
    await prof.type(`/sendfile ${file}`);
    await prof.waitFor(/Uploading '[^']*notes\.bin': 100%/, W);
    const got = await bob.nextMessage((m) => m.body.startsWith('https://'), W, from);
    expect(got.from.split('/')[0]).toBe('me@localhost');
    expect(got.oob_url).toBe(got.body);
    expect(await bob.download(got.body)).toMatchObject({ status: 200, size: bytes.length, sha256: sha256(bytes) });
    await keep('3-sendfile.txt');
  }, T);
});
