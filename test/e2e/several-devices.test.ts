// End to end, several devices of one user: two slixmpp sessions (a phone and a laptop, carbons
// enabled through slixmpp's xep_0280), and Pidgin (libpurple through bitlbee) next to a slixmpp
// session, chatting through a whole gateway (startGateway) with a reference peer (openssl s_server
// -Verify 1). RFC 6121 §8.5.2 priority routing, XEP-0280 carbons both ways, the peer gets each line once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { opensslServer, WAIT_MS, type ListeningPeer } from './support/reference-peer.js';
import { LIBPURPLE_PRIORITY, PurpleUser } from './support/users.js';

const T = 120_000;
const W = 30_000;
const bare = (jid: string): string => jid.split('/')[0]!;
/** The gateway contact: the server domain of the local mode. */
const GATEWAY = 'localhost';

/** A slixmpp device of the gateway's user, logged in as `resource` with that presence priority. */
async function device(gw: E2eGateway, resource: string, priority: number): Promise<SlixmppClient> {
  const c = await SlixmppClient.start();
  await c.connect({ jid: `${gw.userJid}/${resource}`, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile, priority });
  return c;
}

/** Adds a listening reference peer through the gateway contact's "add" command and waits for the link. */
async function addPeer(gw: E2eGateway, c: SlixmppClient, name: string): Promise<{ srv: ListeningPeer; jid: string }> {
  const id = await makeOpensslIdentity(tmpDir(`peer-${name}`));
  const srv = await opensslServer(id);
  const from = c.mark();
  await c.send(GATEWAY, `add tlsim://${id.fingerprint}@127.0.0.1:${srv.port} ${name}`);
  await c.nextMessage((m) => m.from === GATEWAY && /^Added /.test(m.body), W, from);
  await srv.proc.waitFor(/Protocol version: TLSv1\.3/, WAIT_MS, { stream: 'stderr' });
  return { srv, jid: gw.jidOf(id.fingerprint) };
}

/** Lines the peer got, exactly. */
const linesAt = (srv: ListeningPeer, text: string): number => srv.proc.output('stdout').split('\n').filter((l) => l === text).length;

interopSuite('e2e: two slixmpp devices of one user, carbons, a reference peer', ['slixmpp', 'openssl'], () => {
  let gw: E2eGateway;
  let phone: SlixmppClient;
  let laptop: SlixmppClient;
  let peer: { srv: ListeningPeer; jid: string };

  beforeAll(async () => {
    gw = await startInProcessGateway();
    phone = await device(gw, 'phone', 5);
    laptop = await device(gw, 'laptop', 1);
    await phone.carbons();
    await laptop.carbons();
    peer = await addPeer(gw, phone, 'Alice');
  }, T);

  afterAll(async () => {
    await phone?.stop();
    await laptop?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('each device sees the other one online (its presence from the user\'s full JID)', async () => {
    await phone.waitForEvent((e) => e.event === 'presence' && e.from === `${gw.userJid}/laptop` && e.type === 'available', W);
    await laptop.waitForEvent((e) => e.event === 'presence' && e.from === `${gw.userJid}/phone` && e.type === 'available', W);
  }, T);

  it('the peer\'s line reaches the phone (higher priority) as a message and the laptop as a received carbon', async () => {
    const p = phone.mark();
    const l = laptop.mark();
    await peer.srv.type('hello devices\n');
    const msg = await phone.nextMessage((m) => bare(m.from) === peer.jid && m.body === 'hello devices', W, p);
    const carbon = await laptop.nextCarbon('received', (c) => c.body === 'hello devices', W, l);
    expect(bare(carbon.from)).toBe(peer.jid);
    expect(carbon.id).toBe(msg.id);
    // The laptop did not get it directly, and the phone got no carbon of it.
    expect(laptop.events.slice(l).some((e) => e.event === 'message' && bare(e.from) === peer.jid)).toBe(false);
    expect(phone.events.slice(p).some((e) => e.event === 'carbon_received')).toBe(false);
  }, T);

  it('a line sent on the laptop reaches the peer once and shows on the phone as a sent carbon', async () => {
    const p = phone.mark();
    await laptop.send(peer.jid, 'from the laptop');
    const carbon = await phone.nextCarbon('sent', (c) => c.body === 'from the laptop', W, p);
    expect(carbon).toMatchObject({ from: `${gw.userJid}/laptop`, to: peer.jid, type: 'chat' });
    await peer.srv.proc.waitFor(/^from the laptop$/m, WAIT_MS, { stream: 'stdout' });
    // Once: a later line arrives and the first is still there a single time.
    await phone.send(peer.jid, 'and from the phone');
    await peer.srv.proc.waitFor(/^and from the phone$/m, WAIT_MS, { stream: 'stdout' });
    expect(linesAt(peer.srv, 'from the laptop')).toBe(1);
    expect(linesAt(peer.srv, 'and from the phone')).toBe(1);
    await laptop.nextCarbon('sent', (c) => c.body === 'and from the phone', W);
  }, T);

  it('with the same priority both devices get the line itself, and no carbon of it', async () => {
    await laptop.request({ cmd: 'presence', priority: 5 });
    await phone.waitForEvent((e) => e.event === 'presence' && e.from === `${gw.userJid}/laptop`, W, phone.mark());
    const p = phone.mark();
    const l = laptop.mark();
    await peer.srv.type('to both of you\n');
    await phone.nextMessage((m) => bare(m.from) === peer.jid && m.body === 'to both of you', W, p);
    await laptop.nextMessage((m) => bare(m.from) === peer.jid && m.body === 'to both of you', W, l);
    // Something later from the peer: by then a carbon of the first would have come.
    await peer.srv.type('later\n');
    await phone.nextMessage((m) => m.body === 'later', W, p);
    await laptop.nextMessage((m) => m.body === 'later', W, l);
    expect([...phone.events.slice(p), ...laptop.events.slice(l)].filter((e) => e.event === 'carbon_received')).toEqual([]);
  }, T);
});

interopSuite('e2e: Pidgin (libpurple through bitlbee) and a slixmpp device on one account', ['bitlbee', 'slixmpp', 'openssl'], () => {
  let gw: E2eGateway;
  let pidgin: PurpleUser;
  let slix: SlixmppClient;

  beforeAll(async () => {
    gw = await startInProcessGateway();
    pidgin = await PurpleUser.login(gw);
    // Below libpurple's priority: Pidgin gets the messages, slixmpp sees them as carbons.
    slix = await device(gw, 'slix', LIBPURPLE_PRIORITY - 1);
    await slix.carbons();
  }, T);

  afterAll(async () => {
    await slix?.stop();
    await pidgin?.close();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('Pidgin chats both ways with a reference peer; slixmpp sees both sides as carbons, the peer each line once', async (ctx) => {
    ctx.onTestFailed(() => console.error(`--- IRC (tail) ---\n${pidgin.tail()}\n--- slixmpp ---\n${slix.recent()}`));
    const id = await makeOpensslIdentity(tmpDir('peer-pidgin'));
    const srv = await opensslServer(id);
    const jid = gw.jidOf(id.fingerprint);
    await pidgin.command(`add tlsim://${id.fingerprint}@127.0.0.1:${srv.port} Carol`, /^Added /);
    const nick = await pidgin.irc.waitForContact(jid, W);
    await srv.proc.waitFor(/Protocol version: TLSv1\.3/, WAIT_MS, { stream: 'stderr' });

    let from = pidgin.mark();
    let s = slix.mark();
    await srv.type('hello Pidgin\n');
    expect(await pidgin.waitPrivmsg(nick, /hello Pidgin/, W, from)).toBe('hello Pidgin');
    expect(bare((await slix.nextCarbon('received', (c) => c.body === 'hello Pidgin', W, s)).from)).toBe(jid);

    s = slix.mark();
    await pidgin.irc.say(nick, 'hello Carol, from pidgin');
    await srv.proc.waitFor(/^hello Carol, from pidgin$/m, WAIT_MS, { stream: 'stdout' });
    const sent = await slix.nextCarbon('sent', (c) => c.body === 'hello Carol, from pidgin', W, s);
    expect(bare(sent.to)).toBe(jid);

    // slixmpp writes too: the peer gets it once, Pidgin keeps working.
    from = pidgin.mark();
    await slix.send(jid, 'and from slixmpp');
    await srv.proc.waitFor(/^and from slixmpp$/m, WAIT_MS, { stream: 'stdout' });
    await srv.type('bye both\n');
    expect(await pidgin.waitPrivmsg(nick, /bye both/, W, from)).toBe('bye both');
    expect(linesAt(srv, 'hello Carol, from pidgin')).toBe(1);
    expect(linesAt(srv, 'and from slixmpp')).toBe(1);
    // The user's own other resource is no contact in bitlbee (libpurple keeps it to itself).
    expect((await pidgin.irc.contacts()).map((c) => c.jid)).not.toContain(gw.userJid);
  }, T);

  it('with the same priority as Pidgin, slixmpp gets the peer\'s messages itself', async () => {
    const s = slix.mark();
    await slix.request({ cmd: 'presence', priority: LIBPURPLE_PRIORITY });
    const id = await makeOpensslIdentity(tmpDir('peer-pidgin-2'));
    const srv = await opensslServer(id);
    const jid = gw.jidOf(id.fingerprint);
    await pidgin.command(`add tlsim://${id.fingerprint}@127.0.0.1:${srv.port} Dave`, /^Added /);
    const nick = await pidgin.irc.waitForContact(jid, W);
    await srv.proc.waitFor(/Protocol version: TLSv1\.3/, WAIT_MS, { stream: 'stderr' });
    const from = pidgin.mark();
    await srv.type('hi both\n');
    expect(await pidgin.waitPrivmsg(nick, /hi both/, W, from)).toBe('hi both');
    await slix.nextMessage((m) => bare(m.from) === jid && m.body === 'hi both', W, s);
  }, T);
});
