// End to end, the main job: a Pidgin user (libpurple through bitlbee) chats through a whole gateway
// (startGateway, default policy "ask") with reference-style peers that are real programs, both ways
// of dialing: openssl s_server (added by share string and by fingerprint + address, dialed by the
// gateway) and gnutls-cli (dials the gateway as an unknown peer and is accepted with "yes").
import { describe, expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { makeOpensslIdentity, tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';
import type { E2eGateway } from './support/gateway.js';
import { purpleSuite } from './support/purple-suite.js';
import { gnutlsCli, gnutlsServ, opensslClient, opensslServer, WAIT_MS } from './support/reference-peer.js';
import type { PurpleUser } from './support/users.js';

const T = 120_000;
/** The issue asks for presence within 2 s of the link; asserted generously, the measure is printed. */
const PRESENCE_BOUND_MS = 10_000;

interopSuite('e2e: libpurple user ⇄ gateway ⇄ reference peers', ['bitlbee', 'openssl', 'gnutls-cli'], () => {
  let gw: E2eGateway;
  let user: PurpleUser;
  let observer: XmppJsClient;
  const { onFailure } = purpleSuite((s) => ({ gw, user, observer } = s), {}, T);

  /** The observer's chat messages from a peer JID, bodies whole (one per stanza). */
  const bodiesFrom = (jid: string): string[] =>
    observer.stanzas
      .filter((s) => s.is('message') && s.getChild('body') && (s.attrs.from ?? '').split('/')[0] === jid)
      .map((s) => s.getChildText('body') ?? '');

  describe('(a) the gateway dials a listening reference peer (openssl s_server -Verify 1, gnutls-serv -r)', () => {
    it('added by share string: online in bitlbee, chat both ways, multi-line stays one message, markup arrives plain, offline when it dies and online again when it is back', async (ctx) => {
      onFailure(ctx);
      const id = await makeOpensslIdentity(tmpDir('peer-a'));
      let srv = await opensslServer(id);
      const jid = gw.jidOf(id.fingerprint);

      const said = await user.command(`add tlsim://${id.fingerprint}@127.0.0.1:${srv.port} Alice`, /^Added /);
      expect(said.join('\n')).toContain(`Added Alice`);
      expect(said.join('\n')).toContain(`127.0.0.1:${srv.port}`);
      const nick = await user.irc.waitForContact(jid, 30_000);
      expect((await user.irc.contacts()).find((c) => c.nick === nick)?.realname).toBe('Alice');
      await srv.proc.waitFor(/Protocol version: TLSv1\.3/, WAIT_MS, { stream: 'stderr' });

      // Pidgin → peer: s_server prints what it got.
      await user.irc.say(nick, 'hello from pidgin');
      await srv.proc.waitFor(/^hello from pidgin$/m, WAIT_MS, { stream: 'stdout' });

      // Peer → Pidgin.
      let from = user.mark();
      await srv.type('hello from openssl\n');
      expect(await user.waitPrivmsg(nick, /hello from openssl/, 30_000, from)).toBe('hello from openssl');

      // One write with an LF inside is one message: one stanza to XMPP clients, two IRC lines in bitlbee.
      // (The observer reads its own stream: it is looked at by content, not by how far it had read.)
      from = user.mark();
      await srv.type('first line\nsecond line\n');
      await user.waitPrivmsg(nick, /second line/, 30_000, from);
      await srv.type('after the multi-line one\n');
      await user.waitPrivmsg(nick, /after the multi-line one/, 30_000, from);
      expect(user.privmsgsFrom(nick, from)).toEqual(['first line', 'second line', 'after the multi-line one']);
      await expect.poll(() => bodiesFrom(jid), { timeout: 30_000 }).toContain('after the multi-line one');
      const bodies = bodiesFrom(jid);
      expect(bodies.slice(bodies.findIndex((b) => b.startsWith('first line')))).toEqual(['first line\nsecond line', 'after the multi-line one']);

      // libpurple markup from a reference Pidgin user arrives as plain text.
      from = user.mark();
      await srv.type('<b>hi</b> &amp; <br>bye\n');
      await user.waitPrivmsg(nick, /bye/, 30_000, from);
      const lines = user.privmsgsFrom(nick, from);
      expect(lines.join('\n')).not.toMatch(/<b>|&amp;|<br>/);
      expect(lines.map((l) => l.trim())).toEqual(['hi &', 'bye']);
      await expect.poll(() => bodiesFrom(jid).at(-1), { timeout: 30_000 }).toBe('hi & \nbye');

      // The peer dies: the contact leaves &bitlbee.
      from = user.mark();
      const logFrom = gw.log.mark();
      const killedAt = Date.now();
      srv.proc.signal('SIGKILL');
      await user.waitOffline(nick, 30_000, from);
      const offlineAt = Date.now();
      const linkDown = await gw.log.waitFor((l) => l.msg === 'peer offline' && l.peer === id.fingerprint.slice(0, 12), 5_000, logFrom);
      console.log(
        `[e2e] presence latency: peer killed → bitlbee QUIT ${offlineAt - killedAt} ms; gateway link down → bitlbee QUIT ${offlineAt - linkDown.time} ms`,
      );
      expect(offlineAt - linkDown.time).toBeLessThan(PRESENCE_BOUND_MS);
      expect(await user.irc.isOnline(nick)).toBe(false);

      // Back on the same port: redialed without anything from the user.
      from = user.mark();
      const restartedAt = Date.now();
      srv = await opensslServer(id, srv.port);
      await user.waitOnline(nick, 30_000, from);
      console.log(`[e2e] peer restarted → bitlbee JOIN ${Date.now() - restartedAt} ms (redial backoff included)`);
      await user.irc.say(nick, 'welcome back');
      await srv.proc.waitFor(/^welcome back$/m, WAIT_MS, { stream: 'stdout' });
    }, T);

    it('gnutls-serv -r --echo (GnuTLS, the reference library) added by share string: online, a line there and back, offline when it dies', async (ctx) => {
      onFailure(ctx);
      const id = await makeOpensslIdentity(tmpDir('peer-gnutls'));
      const srv = await gnutlsServ(id);
      await user.command(`add tlsim://${id.fingerprint}@127.0.0.1:${srv.port} Gina`, /^Added /);
      const nick = await user.irc.waitForContact(gw.jidOf(id.fingerprint), 30_000);
      const from = user.mark();
      await user.irc.say(nick, 'echo this, Gina');
      await srv.proc.waitFor(/received cmd: echo this, Gina/, WAIT_MS);
      expect(await user.waitPrivmsg(nick, /echo this/, 30_000, from)).toBe('echo this, Gina');
      // gnutls-serv saw the gateway's certificate (its fingerprint, as openssl computes it).
      expect(srv.proc.stdout).toContain(gw.fingerprint);
      const off = user.mark();
      srv.proc.signal('SIGKILL');
      await user.waitOffline(nick, PRESENCE_BOUND_MS, off);
    }, T);

    it('added by fingerprint, address and name ("add <fp> 127.0.0.1 <port> Name"): chat both ways', async (ctx) => {
      onFailure(ctx);
      const id = await makeOpensslIdentity(tmpDir('peer-cmd'));
      const srv = await opensslServer(id);
      const said = await user.command(`add ${id.fingerprint} 127.0.0.1 ${srv.port} Bob`, /^Added /);
      expect(said.join('\n')).toMatch(/Added Bob/);
      const nick = await user.irc.waitForContact('Bob', 30_000);
      expect((await user.irc.contacts()).find((c) => c.nick === nick)?.jid).toBe(gw.jidOf(id.fingerprint));

      await user.irc.say(nick, 'hi Bob, from pidgin');
      await srv.proc.waitFor(/^hi Bob, from pidgin$/m, WAIT_MS, { stream: 'stdout' });
      const from = user.mark();
      await srv.type('hi from Bob\n');
      expect(await user.waitPrivmsg(nick, /hi from Bob/, 30_000, from)).toBe('hi from Bob');
    }, T);
  });

  describe('(b) a reference peer dials the gateway (gnutls-cli, openssl s_client) as an unknown peer', () => {
    it('the user sees a request and answers yes; the line it sent before acceptance is delivered; then chat both ways', async (ctx) => {
      onFailure(ctx);
      const id = await makeOpensslIdentity(tmpDir('peer-b'));
      const jid = gw.jidOf(id.fingerprint);
      const from = user.mark();
      const peer = await gnutlsCli(id, gw.peerPort);
      // Typed at once: gnutls-cli sends it right after its handshake, long before anyone could accept.
      await peer.type('hello, it is Carol, before you accepted\n');
      await peer.handshake;

      const request = await user.irc.answerRequest(/wants to add you|authoriz|request/i, true, 30_000, from);
      expect(request).toContain(jid);
      const held = await user.irc.nextPrivmsg(undefined, 30_000, from);
      expect(held.text).toBe('hello, it is Carol, before you accepted');
      const nick = held.nick;
      expect((await user.irc.contacts()).find((c) => c.nick === nick)?.jid).toBe(jid);
      await user.irc.waitForContact(jid, 30_000);

      await user.irc.say(nick, 'welcome Carol');
      await expect.poll(() => peer.received(), { timeout: WAIT_MS }).toContain('welcome Carol\n');
      const next = user.mark();
      await peer.type('thanks!\n');
      expect(await user.waitPrivmsg(nick, /thanks!/, 30_000, next)).toBe('thanks!');
      // Exactly once: the held line was not repeated.
      expect(user.privmsgsFrom(nick, from).filter((t) => /before you accepted/.test(t))).toHaveLength(1);
      expect(peer.proc.exitInfo).toBeUndefined();
    }, T);

    it('openssl s_client -crlf dialing in: accepted with "yes", its CR LF lines arrive without the CR, and chat both ways', async (ctx) => {
      onFailure(ctx);
      const id = await makeOpensslIdentity(tmpDir('peer-sclient'));
      const jid = gw.jidOf(id.fingerprint);
      const from = user.mark();
      const peer = await opensslClient(id, gw.peerPort, { crlf: true });
      await peer.type('hi, Dora here\n');
      const request = await user.irc.answerRequest(/wants to add you/, true, 30_000, from);
      expect(request).toContain(jid);
      const first = await user.irc.nextPrivmsg(undefined, 30_000, from);
      expect(first.text).toBe('hi, Dora here');
      const obs = observer.mark();
      await peer.type('no carriage return, please\n');
      await user.waitPrivmsg(first.nick, /no carriage return/, 30_000, from);
      const body = await observer.nextMessage((m) => m.from.split('/')[0] === jid && /no carriage return/.test(m.body), 30_000, obs);
      expect(body.body).toBe('no carriage return, please');
      await user.irc.say(first.nick, 'hello Dora');
      await expect.poll(() => peer.received(), { timeout: WAIT_MS }).toContain('hello Dora\n');
    }, T);
  });
});
