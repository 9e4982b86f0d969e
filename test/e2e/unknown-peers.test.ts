// End to end: peers the user never added dial the gateway (gnutls-cli, policy "ask"). The libpurple user
// (bitlbee) sees a request: "yes" lets the peer's lines through; "no" and "block" cut it at the TLS layer,
// and every later connection from it is dropped before any data, with no new request shown.
import { expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { makeOpensslIdentity, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';
import type { E2eGateway } from './support/gateway.js';
import { purpleSuite } from './support/purple-suite.js';
import { gnutlsCli, WAIT_MS, type DialingPeer } from './support/reference-peer.js';
import type { PurpleUser } from './support/users.js';

const T = 120_000;
const REQUEST = /New request: .*wants to add you/;

interopSuite('e2e: unknown peers ask, and are accepted, refused or blocked', ['bitlbee', 'openssl', 'gnutls-cli'], () => {
  let gw: E2eGateway;
  let user: PurpleUser;
  let observer: XmppJsClient;
  const { onFailure } = purpleSuite((s) => ({ gw, user, observer } = s), { policy: 'ask' }, T);

  /** An unknown peer dials and types a line at once; resolves when the user sees its request (not answered). */
  async function unknownPeerAsks(id: OpensslIdentity, line: string): Promise<{ peer: DialingPeer; from: number }> {
    const from = user.mark();
    const peer = await gnutlsCli(id, gw.peerPort);
    await peer.type(`${line}\n`);
    await peer.handshake;
    await user.irc.waitForLine((l) => REQUEST.test(l) && l.includes(gw.jidOf(id.fingerprint)), 30_000, from);
    return { peer, from };
  }

  /**
   * The peer is cut and stays cut: a new connection from it is closed right after the TLS
   * handshake, gets no data, its line reaches nobody, no request is shown, and the gateway
   * logs the refusal.
   */
  async function staysCut(id: OpensslIdentity): Promise<void> {
    const from = user.mark();
    const logFrom = gw.log.mark();
    const again = await gnutlsCli(id, gw.peerPort);
    await again.type('let me in, second try\n');
    await again.closed;
    expect(again.received()).toBe('');
    // TLS 1.3: gnutls-cli finishes its side of the handshake, then the gateway drops the socket unused.
    expect(again.proc.output()).toMatch(/Server has terminated the connection abnormally|Peer has closed the GnuTLS connection/);
    await gw.log.waitFor((l) => l.msg === 'inbound link refused' && l.peer === id.fingerprint.slice(0, 12), WAIT_MS, logFrom);
    // A round trip through the gateway contact: anything the refused link caused would be shown by now.
    const pending = await user.command('requests', /pending|asked to talk/i);
    expect(pending.join('\n')).not.toContain(id.fingerprint);
    expect(user.irc.lines.slice(from).filter((l) => REQUEST.test(l))).toEqual([]);
    expect(user.irc.lines.slice(from).join('\n')).not.toContain('second try');
  }

  it('accept ("yes"): the line sent while asking and the next ones are delivered', async (ctx) => {
    onFailure(ctx);
    const id = await makeOpensslIdentity(tmpDir('unknown-yes'));
    const { peer, from } = await unknownPeerAsks(id, 'hi, may I talk to you?');
    await user.irc.command('yes');
    const first = await user.irc.nextPrivmsg(undefined, 30_000, from);
    expect(first.text).toBe('hi, may I talk to you?');
    const next = user.mark();
    await peer.type('thank you\n');
    expect(await user.waitPrivmsg(first.nick, /thank you/, 30_000, next)).toBe('thank you');
    await user.irc.say(first.nick, 'you are welcome');
    await expect.poll(() => peer.received(), { timeout: WAIT_MS }).toContain('you are welcome\n');
  }, T);

  it('reject ("no"): the link is cut at once, its line never shown, and a second connection is dropped before any data', async (ctx) => {
    onFailure(ctx);
    const id = await makeOpensslIdentity(tmpDir('unknown-no'));
    const { peer, from } = await unknownPeerAsks(id, 'spam spam spam');
    await user.irc.command('no');
    await peer.closed;
    expect(peer.received()).toBe('');
    expect(user.irc.lines.slice(from).join('\n')).not.toContain('spam spam spam');
    await staysCut(id);
  }, T);

  it('block (command "block <fingerprint>") of a pending request: the same', async (ctx) => {
    onFailure(ctx);
    const id = await makeOpensslIdentity(tmpDir('unknown-block'));
    const { peer, from } = await unknownPeerAsks(id, 'buy cheap watches');
    // The request question stays open in bitlbee; the user answers with a command instead.
    const said = await user.command(`block ${id.fingerprint}`, /^Blocked /);
    expect(said.join('\n')).toMatch(/To undo: unblock/);
    // bitlbee still holds the question (nothing withdraws it): dismiss it as a user would.
    const dismissed = user.mark();
    await user.irc.command('no');
    await user.irc.waitForLine((l) => /Rejected: /.test(l) && l.includes(id.fingerprint), 30_000, dismissed);
    await peer.closed;
    expect(peer.received()).toBe('');
    expect(user.irc.lines.slice(from).join('\n')).not.toContain('buy cheap watches');
    await staysCut(id);
  }, T);

  it('block of a contact the user accepted earlier: removed from the roster and shown unavailable, cut, and stays cut', async (ctx) => {
    onFailure(ctx);
    const id = await makeOpensslIdentity(tmpDir('contact-block'));
    const jid = gw.jidOf(id.fingerprint);
    const { peer, from } = await unknownPeerAsks(id, 'hello, friend');
    await user.irc.command('yes');
    expect((await user.irc.nextPrivmsg(undefined, 30_000, from)).text).toBe('hello, friend');
    const nick = await user.irc.waitForContact(jid, 30_000);
    const obs = observer.mark();
    await user.command(`block ${id.fingerprint.slice(0, 16)}`, /^Blocked /);
    // Regression: the libpurple user kept seeing the blocked contact online, because the roster
    // removal came before the unavailable presence and libpurple drops presence from a JID no
    // longer in its roster. Now the contact goes unavailable first, so it leaves &bitlbee.
    await expect.poll(() => user.irc.isOnline(nick), { timeout: 30_000, interval: 200 }).toBe(false);
    // What every client is told: the item leaves the roster, and the contact is unavailable.
    await observer.waitFor(
      (s) => s.is('iq') && s.getChild('query')?.getChild('item')?.attrs.jid === jid && s.getChild('query')?.getChild('item')?.attrs.subscription === 'remove',
      30_000,
      obs,
    );
    await observer.waitFor((s) => s.is('presence') && (s.attrs.from ?? '').split('/')[0] === jid && s.attrs.type === 'unavailable', 30_000, obs);
    await peer.closed;
    expect(peer.received()).toBe('');
    await staysCut(id);
  }, T);
});
