// The client drivers (slixmpp, @xmpp/client, libpurple through bitlbee) against a real Prosody:
// known-good drivers before they meet our gateway.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IrcClient, startBitlbee, type Bitlbee } from '../../clients/bitlbee/driver.js';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { XmppJsClient } from '../../clients/xmppjs/client.js';
import { removeTmpDirs } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { interopSuite } from '../support/tools.js';

/** Real programs under load: generous, never a timed assertion. */
const T = 120_000;

const USERS = {
  slix1: 'pw-slix1',
  slix256: 'pw-slix256',
  resume: 'pw-resume',
  peer: 'pw-peer',
  xjs: 'pw-xjs',
  xws: 'pw-xws',
  purple: 'pw-purple',
  purple2: 'pw-purple2',
  buddy: 'pw-buddy',
};

interopSuite('client drivers against Prosody', ['prosody', 'slixmpp', 'bitlbee', 'openssl'], () => {
  let prosody: ProsodyServer;
  const slix: SlixmppClient[] = [];
  const xjs: XmppJsClient[] = [];
  const irc: IrcClient[] = [];
  const bitlbees: Bitlbee[] = [];

  const slixmpp = async (): Promise<SlixmppClient> => {
    const c = await SlixmppClient.start();
    slix.push(c);
    return c;
  };
  const login = (c: SlixmppClient, user: keyof typeof USERS, mechanism?: string) =>
    c.connect({
      jid: `${user}@localhost`,
      password: USERS[user],
      port: prosody.c2sPort,
      ca_file: prosody.tls.caCertFile,
      ...(mechanism ? { mechanism } : {}),
    });

  beforeAll(async () => {
    prosody = await startProsody({ users: USERS });
  });

  afterAll(async () => {
    await Promise.all(irc.map((c) => c.close().catch(() => {})));
    await Promise.all(xjs.map((c) => c.stop()));
    await Promise.all(slix.map((c) => c.stop()));
    await Promise.all(bitlbees.map((b) => b.stop()));
    await prosody?.stop();
    await killAll();
    removeTmpDirs();
  }, T);

  it('slixmpp logs in with SCRAM-SHA-1 and with SCRAM-SHA-256 over STARTTLS, verifying the CA', async () => {
    const a = await slixmpp();
    const sha1 = await login(a, 'slix1', 'SCRAM-SHA-1');
    expect(sha1.mechanism).toBe('SCRAM-SHA-1');
    expect(a.events.some((e) => e.event === 'tls')).toBe(true);
    const b = await slixmpp();
    const sha256 = await login(b, 'slix256', 'SCRAM-SHA-256');
    expect(sha256.mechanism).toBe('SCRAM-SHA-256');
    expect(sha256.jid).toMatch(/^slix256@localhost\//);
  }, T);

  it('slixmpp refuses a certificate it cannot verify (verification is really on)', async () => {
    const c = await slixmpp();
    // No ca_file: the system store does not know the private CA.
    const from = c.mark();
    await c.post({ cmd: 'connect', jid: 'slix1@localhost', password: USERS.slix1, port: prosody.c2sPort });
    const e = await c.waitForEvent((ev) => ['tls_invalid', 'session_start', 'disconnected'].includes(ev.event), 30_000, from);
    expect(e.event).not.toBe('session_start');
  }, T);

  it('slixmpp pings, discovers, reads the roster and chats', async () => {
    const a = await slixmpp();
    const b = await slixmpp();
    const sa = await login(a, 'slix1');
    const sb = await login(b, 'peer');
    expect(await a.ping('localhost')).toMatchObject({ type: 'result', from: 'localhost' });
    const info = await a.discoInfo('localhost');
    expect(info.identities).toContainEqual(expect.objectContaining({ category: 'server', type: 'im' }));
    expect(info.features).toContain('urn:xmpp:ping');
    expect(await a.roster()).toEqual({ items: [] });
    const from = b.mark();
    await a.send(sb.jid, 'hello from slixmpp');
    const m = await b.nextMessage((x) => x.body === 'hello from slixmpp', 30_000, from);
    expect(m.from).toBe(sa.jid);
  }, T);

  it('slixmpp resumes its stream after a dropped TCP connection and gets what was sent meanwhile', async () => {
    const a = await slixmpp();
    const b = await slixmpp();
    const sa = await login(a, 'resume');
    await login(b, 'peer');
    await a.waitForEvent((e) => e.event === 'sm_enabled' && e.resume, 30_000);
    const from = a.mark();
    await a.request({ cmd: 'drop_tcp' });
    await a.waitForEvent((e) => e.event === 'disconnected', 30_000, from);
    await b.send(sa.jid, 'sent while the link was down');
    await b.ping('localhost'); // the server has routed the message by now
    await a.request({ cmd: 'reconnect' });
    await a.waitForEvent((e) => e.event === 'resumed', 30_000, from);
    const m = await a.nextMessage((x) => x.body === 'sent while the link was down', 30_000, from);
    expect(m.type).toBe('chat');
  }, T);

  it('@xmpp/client logs in over STARTTLS with a per-connection CA and over WebSocket, and chats', async () => {
    const ca = readFileSync(prosody.tls.caCertFile, 'utf8');
    const tcp = new XmppJsClient({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: 'localhost', username: 'xjs', password: USERS.xjs, ca });
    const ws = new XmppJsClient({ service: prosody.websocketUrl, domain: 'localhost', username: 'xws', password: USERS.xws });
    xjs.push(tcp, ws);
    await tcp.start();
    expect(tcp.tlsUpgraded).toBe(true);
    expect(tcp.mechanismUsed).toBe('SCRAM-SHA-1');
    expect(tcp.offeredMechanisms).toContain('SCRAM-SHA-1');
    await ws.start();
    await tcp.presence();
    await ws.presence();
    await tcp.ping('localhost');
    expect((await tcp.discoInfo('localhost')).features).toContain('urn:xmpp:ping');
    const from = ws.mark();
    await tcp.send(ws.jid!, 'over websocket');
    expect((await ws.nextMessage((m) => m.body === 'over websocket', 30_000, from)).from).toBe(tcp.jid);
  }, T);

  it('@xmpp/client without the CA fails the TLS handshake', async () => {
    const c = new XmppJsClient({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: 'localhost', username: 'xjs', password: USERS.xjs });
    xjs.push(c);
    await expect(c.start()).rejects.toThrow(/certificate|self.signed|issuer/i);
  }, T);

  it('libpurple (bitlbee) logs in with required TLS trusting a pinned certificate, sees a buddy, chats, sees it leave and return', async () => {
    const bb = await startBitlbee({ pinCertificates: [{ host: '127.0.0.1', certFile: prosody.tls.certFile }] });
    bitlbees.push(bb);
    const i = await IrcClient.connect(bb.port);
    irc.push(i);
    await i.login('purple@localhost', USERS.purple, { host: '127.0.0.1', port: prosody.c2sPort, tls: 'required', acceptCertificate: false });
    expect(i.certificatePrompts).toEqual([]);

    const buddy = await slixmpp();
    const sb = await login(buddy, 'buddy');
    const mark = i.mark();
    await i.command('add jabber buddy@localhost');
    // slixmpp authorizes and subscribes back; libpurple asks us about that.
    await i.answerRequest(/buddy@localhost wants to add you/, true, 30_000, mark);
    const nick = await i.waitForContact('buddy@localhost');
    expect(nick).toBe('buddy');

    await i.say(nick, 'hello from libpurple');
    expect((await buddy.nextMessage((m) => m.body === 'hello from libpurple')).from).toMatch(/^purple@localhost\//);
    const before = i.mark();
    await buddy.send('purple@localhost', 'hello to libpurple');
    expect(await i.nextPrivmsg(nick, 30_000, before)).toMatchObject({ nick, text: 'hello to libpurple' });

    const offMark = i.mark();
    await buddy.disconnect();
    await i.waitForLine(new RegExp(`^:${nick}!\\S+ QUIT `), 30_000, offMark);
    expect(await i.isOnline(nick)).toBe(false);
    const onMark = i.mark();
    await login(buddy, 'buddy');
    await i.waitForLine(new RegExp(`^:${nick}!\\S+ JOIN `), 30_000, onMark);
    expect(await i.isOnline(nick)).toBe(true);
    expect(sb.jid).toMatch(/^buddy@localhost\//);
  }, T);

  it('libpurple (bitlbee) logs in with opportunistic TLS after accepting the unknown certificate', async () => {
    const bb = await startBitlbee();
    bitlbees.push(bb);
    const i = await IrcClient.connect(bb.port);
    irc.push(i);
    await i.login('purple2@localhost', USERS.purple2, { host: '127.0.0.1', port: prosody.c2sPort, tls: 'try' });
    expect(i.certificatePrompts.join('\n')).toMatch(/Accept certificate for 127\.0\.0\.1\?/);
  }, T);
});
