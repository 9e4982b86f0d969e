// The bad-input catalogue (README "Security"): a whole gateway on its defaults, a user (@xmpp/client) chatting
// with a reference peer (openssl s_server) the whole time, and one hostile or broken input after another on
// both sides. Each gets a clear answer, closes at most its own stream or link, and the chat goes on (asserted
// after every case, and during the floods).
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml, type XmppJsClient } from '../../clients/xmppjs/client.js';
import { makeOpensslIdentity, removeTmpDirs, selfSigned, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { flood, rawPeer, rawTcp, rawXmpp } from './support/raw-clients.js';
import { opensslServer, WAIT_MS, type ListeningPeer } from './support/reference-peer.js';
import { xmppObserver } from './support/users.js';

const T = 120_000;

interopSuite('the bad-input catalogue: only the offender is closed, a concurrent chat is unaffected', ['openssl'], () => {
  let gw: E2eGateway;
  let user: XmppJsClient;
  let peer: ListeningPeer;
  let peerJid: string;
  let round = 0;

  beforeAll(async () => {
    gw = await startInProcessGateway({ policy: 'ask', websocket: true });
    user = await xmppObserver({ c2sPort: gw.c2sPort, userJid: gw.userJid, password: gw.password, caCertFile: gw.caCertFile }, 'bystander');
    const id = await makeOpensslIdentity(tmpDir('catalogue-peer'));
    peer = await opensslServer(id);
    peerJid = gw.jidOf(id.fingerprint);
    const from = user.mark();
    await user.send('localhost', `add tlsim://${id.fingerprint}@127.0.0.1:${peer.port} Bystander`);
    await user.waitFor((el) => el.is('presence') && (el.attrs.from ?? '').startsWith(peerJid) && el.attrs.type === undefined, 30_000, from);
    await chatStillWorks();
  }, T);

  afterAll(async () => {
    await user?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  /** One round trip of the concurrent chat: the user's line reaches the peer, the peer's reaches the user. */
  async function chatStillWorks(): Promise<void> {
    const n = ++round;
    const from = user.mark();
    const at = peer.proc.mark();
    await user.send(peerJid, `ping ${n}`);
    await peer.proc.waitFor(new RegExp(`^ping ${n}$`, 'm'), WAIT_MS, { stream: 'stdout', since: at });
    await peer.type(`pong ${n}\n`);
    expect((await user.nextMessage((m) => m.from.startsWith(peerJid) && m.body === `pong ${n}`, 30_000, from)).body).toBe(`pong ${n}`);
  }

  const logged = (pred: (l: Record<string, unknown>) => boolean, from: number) => gw.log.waitFor(pred as never, WAIT_MS, from);

  describe('XMPP side (the c2s port)', () => {
    it('malformed XML: <not-well-formed/>', async () => {
      const c = await rawXmpp(gw.c2sPort);
      c.socket.write('<message><body>hi</message>');
      await c.closed;
      expect(c.streamError()).toBe('not-well-formed');
      await chatStillWorks();
    }, T);

    it('a DOCTYPE with entities (billion laughs): <restricted-xml/>, nothing expanded', async () => {
      const c = await rawXmpp(gw.c2sPort, { header: false });
      const lol = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('');
      c.socket.write(`<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol "lol">${lol}]><stream:stream>&lol9;`);
      await c.closed;
      expect(c.streamError()).toBe('restricted-xml');
      expect(c.received()).not.toContain('lollol');
      await chatStillWorks();
    }, T);

    it('a 10 MB stanza: <policy-violation/> long before 10 MB, while the chat goes on', async () => {
      const c = await rawXmpp(gw.c2sPort);
      c.socket.write('<message><body>');
      const [written] = await Promise.all([flood(c.socket, 'a'.repeat(64 * 1024), 10 * 1024 * 1024), chatStillWorks()]);
      await c.closed;
      expect(c.streamError()).toBe('policy-violation');
      expect(written).toBeLessThan(10 * 1024 * 1024);
      await chatStillWorks();
    }, T);

    it('10 000 nested elements: <policy-violation/>', async () => {
      const c = await rawXmpp(gw.c2sPort);
      c.socket.write(`<message>${'<a>'.repeat(10_000)}`);
      await c.closed;
      expect(c.streamError()).toBe('policy-violation');
      await chatStillWorks();
    }, T);

    it('invalid UTF-8: <not-well-formed/>', async () => {
      const c = await rawXmpp(gw.c2sPort);
      c.socket.write(Buffer.concat([Buffer.from('<message><body>'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('</body></message>')]));
      await c.closed;
      expect(c.streamError()).toBe('not-well-formed');
      await chatStillWorks();
    }, T);

    it('XML-illegal characters (a raw control character, and one as a character reference): <not-well-formed/>', async () => {
      for (const bad of ['<message><body>a\u0001b</body></message>', '<message><body>a&#1;b</body></message>']) {
        const c = await rawXmpp(gw.c2sPort);
        c.socket.write(bad);
        await c.closed;
        expect(c.streamError()).toBe('not-well-formed');
      }
      await chatStillWorks();
    }, T);

    it('slowloris (one byte every few seconds): cut when the stream header is not complete in time (30 s)', async () => {
      const c = await rawXmpp(gw.c2sPort, { header: false });
      const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client'";
      const started = Date.now();
      let i = 0;
      const drip = setInterval(() => {
        if (!c.socket.destroyed && i < header.length) c.socket.write(header[i++]!);
      }, 3_000);
      try {
        await Promise.all([c.closed, chatStillWorks()]);
      } finally {
        clearInterval(drip);
      }
      expect(c.streamError()).toBe('connection-timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(25_000);
      await chatStillWorks();
    }, T);

    it('1 000 parallel unauthenticated connections: the rest are refused at the cap, nothing grows, the chat goes on, and a login works once they are gone', async () => {
      const from = gw.log.mark();
      const conns = await Promise.all(Array.from({ length: 1000 }, () => rawXmpp(gw.c2sPort).catch(() => undefined)));
      try {
        await chatStillWorks();
        // Past the cap (256 connections) the gateway closes new ones at once: they see the stream closed unanswered
        // (each client notices its close a moment later, so the count of open ones is polled).
        await expect.poll(() => conns.filter((c) => c && !c.socket.destroyed).length, { timeout: 30_000 }).toBeLessThanOrEqual(256);
        expect(gw.log.lines.slice(from).some((l) => l.level >= 50)).toBe(false);
      } finally {
        for (const c of conns) c?.socket.destroy();
        await Promise.all(conns.map((c) => c?.closed));
      }
      const second = await xmppObserver({ c2sPort: gw.c2sPort, userJid: gw.userJid, password: gw.password, caCertFile: gw.caCertFile }, 'after-flood');
      await second.stop();
      await chatStillWorks();
    }, T);

    it('SASL brute force: after a few wrong passwords each further attempt waits (temporary-auth-failure), the right one still works later, the bystander is unaffected', async () => {
      const wrong = (): Promise<string> =>
        xmppObserver({ c2sPort: gw.c2sPort, userJid: gw.userJid, password: 'wrong-password', caCertFile: gw.caCertFile }, 'guess').then(
          () => 'logged in',
          (err: Error) => String(err.message ?? err),
        );
      const answers: string[] = [];
      for (let i = 0; i < 7; i++) answers.push(await wrong());
      expect(answers.slice(0, 5).every((a) => /not-authorized/.test(a))).toBe(true);
      expect(answers.slice(5).some((a) => /temporary-auth-failure/.test(a))).toBe(true);
      await chatStillWorks();
      // The right password once the wait is over (a few seconds after seven failures).
      await expect
        .poll(
          () =>
            xmppObserver({ c2sPort: gw.c2sPort, userJid: gw.userJid, password: gw.password, caCertFile: gw.caCertFile }, 'owner').then(
              async (c) => (await c.stop(), 'ok'),
              (err: Error) => err.message,
            ),
          { timeout: 70_000, interval: 2_000 },
        )
        .toBe('ok');
    }, T);

    it('a stanza with a forged `from`: the gateway stamps the real sender; the peer gets the text from our user', async () => {
      const from = user.mark();
      const at = peer.proc.mark();
      await user.xmpp.send(
        xml('message', { to: peerJid, type: 'chat', from: 'mallory@evil.example/x' }, xml('body', {}, 'forged from')),
      );
      await peer.proc.waitFor(/^forged from$/m, WAIT_MS, { stream: 'stdout', since: at });
      expect(user.stanzas.slice(from).some((el) => el.attrs.type === 'error')).toBe(false);
      await chatStillWorks();
    }, T);

    it('a WebSocket from a foreign Origin: refused with 403 before any XMPP, logged', async () => {
      const from = gw.log.mark();
      const port = gw.running.status().websocketPort!;
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/xmpp-websocket`, 'xmpp', { headers: { Origin: 'https://evil.example' } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect(status).toBe(403);
      await logged((l) => l.msg === 'websocket refused' && l.origin === 'https://evil.example', from);
      await chatStillWorks();
    }, T);
  });

  describe('peer side (the peer port)', () => {
    let stranger: OpensslIdentity;
    beforeAll(async () => {
      stranger = await makeOpensslIdentity(tmpDir('catalogue-stranger'));
    });

    it('TLS garbage: dropped with at most an alert, and the listener goes on', async () => {
      const c = await rawTcp(gw.peerPort);
      c.socket.write(randomBytes(4096));
      await c.closed;
      expect(c.received().length).toBeLessThan(64);
      await chatStillWorks();
    }, T);

    it('no client certificate: refused at the handshake, nothing delivered', async () => {
      const c = await rawPeer(gw.peerPort);
      c.socket.write('let me in without a certificate\n');
      await c.closed;
      expect(user.stanzas.some((el) => (el.getChildText('body') ?? '').includes('without a certificate'))).toBe(false);
      await chatStillWorks();
    }, T);

    it('an endless line (1 MB without LF) and NUL/control characters: cut with a visible mark at the limit, characters replaced, the link and the next line intact', async () => {
      const from = user.mark();
      const c = await rawPeer(gw.peerPort, { key: stranger.keyPem, cert: stranger.certPem });
      expect(await c.secure).toBe(true);
      const request = await user.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === gw.jidOf(stranger.fingerprint), 30_000, from);
      await user.xmpp.send(xml('presence', { to: request.attrs.from, type: 'subscribed' }));
      await flood(c.socket, 'x'.repeat(64 * 1024), 1024 * 1024);
      c.socket.write('\nnul\u0000and\u0007bell\n');
      const long = await user.nextMessage((m) => m.from.startsWith(gw.jidOf(stranger.fingerprint)) && m.body.startsWith('xxx'), 30_000, from);
      expect(Buffer.byteLength(long.body)).toBeLessThan(70 * 1024);
      expect(long.body).toMatch(/message cut/);
      const ctl = await user.nextMessage((m) => m.from.startsWith(gw.jidOf(stranger.fingerprint)) && m.body.startsWith('nul'), 30_000, from);
      expect(ctl.body).not.toMatch(/[\u0000\u0007]/);
      expect(ctl.body).toMatch(/^nul.and.bell$/u);
      c.socket.destroy();
      await chatStillWorks();
    }, T);

    it('a handshake that stalls (TCP open, half a ClientHello): dropped after the handshake timeout, other links unaffected meanwhile', async () => {
      const c = await rawTcp(gw.peerPort);
      c.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      await chatStillWorks();
      await c.closed;
      await chatStillWorks();
    }, T);

    it('10 000 connect/disconnect cycles from one address: no fd leak, the chat goes on', async () => {
      const fdsBefore = readdirSync('/proc/self/fd').length;
      const chatting = chatStillWorks();
      for (let i = 0; i < 10_000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, async () => {
            const c = await rawTcp(gw.peerPort).catch(() => undefined);
            c?.socket.destroy();
            await c?.closed;
          }),
        );
      }
      await chatting;
      await expect.poll(() => readdirSync('/proc/self/fd').length, { timeout: 30_000 }).toBeLessThanOrEqual(fdsBefore + 20);
      await chatStillWorks();
    }, T);

    it('a gateway peer acknowledging what it was never sent: its link is cut, naming why', async () => {
      const liar = selfSigned('liar');
      const from = gw.log.mark();
      const c = await rawPeer(gw.peerPort, { key: liar.key, cert: liar.cert, alpn: ['x-tlsim-gateway/2'] });
      expect(await c.secure).toBe(true);
      expect(c.socket.alpnProtocol).toBe('x-tlsim-gateway/2');
      c.socket.write(Buffer.from([0xfe, 0xfe, 0xfe]));
      await c.closed;
      await logged((l) => /acknowledged more than we sent/.test(JSON.stringify(l)), from);
      await chatStillWorks();
    }, T);
  });
});
