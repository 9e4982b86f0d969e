// libpurple (Pidgin's XMPP engine, 2.14) through bitlbee-libpurple against our gateway: login
// with required and with opportunistic TLS, contacts with their roster names, chat both ways,
// presence changes, and a contact request answered in &bitlbee.
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { IrcClient, startBitlbee, type Bitlbee, type LoginOptions } from '../../clients/bitlbee/driver.js';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { removeTmpDirs } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

const T = 120_000;

interopSuite('libpurple (bitlbee) against the gateway', ['bitlbee'], () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  let bitlbee: Bitlbee | undefined;
  let irc: IrcClient | undefined;

  beforeEach(async (ctx) => {
    gw = await startTestGateway({ tcp: true });
    fake = gw.fake!;
    // On failure, show what bitlbee said (its login steps, questions and errors).
    ctx.onTestFailed(() => {
      if (irc) console.error(`--- IRC (tail) ---\n${irc.lines.slice(-40).join('\n')}`);
    });
  });

  afterEach(async () => {
    await irc?.close().catch(() => {});
    await bitlbee?.stop();
    irc = undefined;
    bitlbee = undefined;
    await gw?.stop();
  });

  afterAll(async () => {
    await killAll();
    removeTmpDirs();
  });

  /**
   * bitlbee, an IRC connection, and the gateway account logged in through libpurple.
   * pinned: the gateway certificate is in libpurple's accepted-certificates cache for
   * 127.0.0.1 (what Pidgin stores when the user clicks Accept), so no question is asked.
   */
  async function purpleLogin(tls: LoginOptions['tls'], pinned: boolean, more: Partial<LoginOptions> = {}): Promise<IrcClient> {
    bitlbee = await startBitlbee(pinned ? { pinCertificates: [{ host: '127.0.0.1', certFile: gw.tls.certFile }] } : {});
    irc = await IrcClient.connect(bitlbee.port);
    await irc.login(gw.userJid, gw.password, { host: '127.0.0.1', port: gw.c2sPort!, tls, acceptCertificate: !pinned, ...more });
    return irc;
  }

  it('logs in with required TLS (certificate pinned: no question) and shows online contacts with their roster names', async () => {
    fake.addFakeContact({ name: 'Alice Peer', online: true });
    fake.addFakeContact({ name: 'Bob Peer', online: true });
    fake.addFakeContact({ name: 'Offline Olga', online: false });
    const i = await purpleLogin('required', true);
    expect(i.certificatePrompts).toEqual([]);
    const alice = await i.waitForContact('Alice Peer');
    const bob = await i.waitForContact('Bob Peer');
    expect(alice).not.toBe(bob);
    const contacts = await i.contacts();
    expect(contacts.find((c) => c.nick === alice)?.jid).toMatch(new RegExp(`@${gw.peerDomain.replace('.', '\\.')}$`));
    // bitlbee keeps only online contacts in &bitlbee.
    expect(contacts.some((c) => c.realname === 'Offline Olga')).toBe(false);
  }, T);

  it('logs in with opportunistic TLS after the user accepts the unknown certificate', async () => {
    fake.addFakeContact({ name: 'Alice Peer', online: true });
    const i = await purpleLogin('try', false, { nickSource: 'full_name' });
    // libpurple checks the name it connected to (connect_server 127.0.0.1) against the gateway's own CA, which it does not know.
    expect(i.certificatePrompts.join('\n')).toMatch(/Accept certificate for 127\.0\.0\.1\?/);
    // With nick_source full_name the IRC nick is made from the roster name.
    expect(await i.waitForContact('Alice Peer')).toBe('AlicePeer');
  }, T);

  it('chats both ways with a contact', async () => {
    const peer = fake.addFakeContact({ name: 'Carol Peer', online: true });
    const i = await purpleLogin('required', true);
    const nick = await i.waitForContact('Carol Peer');

    const from = i.mark();
    fake.peerSays(peer.id, 'hello from the peer network');
    expect(await i.nextPrivmsg(nick, 30_000, from)).toMatchObject({ nick, text: 'hello from the peer network' });

    await i.say(nick, 'hello from Pidgin');
    await expect.poll(() => fake.sent.filter((s) => s.id === peer.id).map((s) => s.text), { timeout: 30_000 }).toContain('hello from Pidgin');
  }, T);

  it('shows a contact going offline and coming back', async () => {
    const peer = fake.addFakeContact({ name: 'Dave Peer', online: true });
    const i = await purpleLogin('required', true);
    const nick = await i.waitForContact('Dave Peer');

    const off = i.mark();
    fake.setOnline(peer.id, false);
    await i.waitForLine(new RegExp(`^:${nick}!\\S+ (QUIT|PART) `), 30_000, off);
    expect(await i.isOnline(nick)).toBe(false);

    const on = i.mark();
    fake.setOnline(peer.id, true);
    await i.waitForLine(new RegExp(`^:${nick}!\\S+ JOIN `), 30_000, on);
    expect(await i.isOnline(nick)).toBe(true);
  }, T);

  it('answers a contact request with yes in &bitlbee, and the peer becomes a contact', async () => {
    const i = await purpleLogin('required', true);
    const from = i.mark();
    const id = 'ab'.repeat(32);
    fake.requestFrom(id, 'Stranger');
    const request = await i.answerRequest(/wants to add you/, true, 30_000, from);
    expect(request).toContain(`@${gw.peerDomain}`);
    await expect.poll(() => fake.getContact(id)?.state, { timeout: 30_000 }).toBe('contact');
  }, T);
});
