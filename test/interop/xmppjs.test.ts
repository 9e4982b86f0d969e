// @xmpp/client (xmpp.js, an independent JavaScript client) against our gateway: SCRAM over
// STARTTLS trusting the gateway CA, chat, ping, disco; RFC 7395 WebSocket login; and a
// cross-site Origin refused before the upgrade.
import { afterEach, beforeEach, expect, it } from 'vitest';
import xml from '@xmpp/xml';
import { WebSocket } from 'ws';
import { XmppJsClient, type XmppJsOptions } from '../../clients/xmppjs/client.js';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { interopSuite } from '../support/tools.js';
import { startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

const T = 120_000;
/** The gateway serves RFC 7395 on any path; clients are told this one (as Prosody and ejabberd use). */
const WS_PATH = '/xmpp-websocket';

interopSuite('@xmpp/client against the gateway', [], () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const clients: XmppJsClient[] = [];

  beforeEach(async () => {
    gw = await startTestGateway({ tcp: true, websocket: true });
    fake = gw.fake!;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await gw?.stop();
  });

  function client(opts: Partial<XmppJsOptions> = {}): XmppJsClient {
    const c = new XmppJsClient({
      service: `xmpp://127.0.0.1:${gw.c2sPort}`,
      domain: gw.domain,
      username: gw.username,
      password: gw.password,
      ca: gw.tls.caCertPem,
      ...opts,
    });
    clients.push(c);
    return c;
  }

  it('logs in with SCRAM over STARTTLS, trusting only the gateway CA', async () => {
    const c = client();
    const bound = await c.start();
    expect(bound.startsWith(`${gw.userJid}/`)).toBe(true);
    expect(c.tlsUpgraded).toBe(true);
    // @xmpp/client 0.14 implements SCRAM-SHA-1 (and PLAIN), not SCRAM-SHA-256: it must pick SCRAM-SHA-1.
    expect(c.offeredMechanisms).toEqual(expect.arrayContaining(['SCRAM-SHA-256', 'SCRAM-SHA-1']));
    expect(c.mechanismUsed).toBe('SCRAM-SHA-1');
  }, T);

  it('fails the TLS handshake when it does not trust the gateway CA', async () => {
    const c = client({ ca: undefined });
    await expect(c.start()).rejects.toThrow(/certificate|self.signed|issuer/i);
  }, T);

  it('chats with a contact, pings the gateway and reads disco#info', async () => {
    const echo = fake.addFakeContact({ name: 'Echo', online: true, echo: true });
    const echoJid = `${echo.id}@${gw.peerDomain}`;
    const c = client();
    await c.start();
    await c.presence();
    const roster = await c.roster();
    expect(roster).toContainEqual(expect.objectContaining({ jid: echoJid, name: 'Echo' }));

    const from = c.mark();
    await c.send(echoJid, 'hi from xmpp.js');
    const reply = await c.nextMessage((m) => m.from.split('/')[0] === echoJid, 30_000, from);
    expect(reply.body).toContain('hi from xmpp.js');
    expect(fake.sent).toContainEqual({ id: echo.id, text: 'hi from xmpp.js' });

    await c.ping(gw.domain);
    const info = await c.discoInfo(gw.domain);
    expect(info.identities).toContainEqual(expect.objectContaining({ category: 'server', type: 'im' }));
    expect(info.features).toContain('urn:xmpp:ping');
  }, T);

  it('logs in over WebSocket (RFC 7395) and receives a message', async () => {
    const peer = fake.addFakeContact({ name: 'Web Peer', online: true });
    const c = client({ service: `ws://127.0.0.1:${gw.websocketPort}${WS_PATH}`, ca: undefined });
    const bound = await c.start();
    expect(bound.startsWith(`${gw.userJid}/`)).toBe(true);
    expect(c.mechanismUsed).toBe('SCRAM-SHA-1');
    await c.presence();
    await c.ping(gw.domain);
    const from = c.mark();
    fake.peerSays(peer.id, 'over the websocket');
    const m = await c.nextMessage((x) => x.body === 'over the websocket', 30_000, from);
    expect(m.from.split('/')[0]).toBe(`${peer.id}@${gw.peerDomain}`);
  }, T);

  it('publishes an XEP-0402 bookmark the way Conversations does; another client hears of it and reads it back', async () => {
    const PUBSUB = 'http://jabber.org/protocol/pubsub';
    const NATIVE = 'urn:xmpp:bookmarks:1';
    const writer = client({ service: `ws://127.0.0.1:${gw.websocketPort}${WS_PATH}`, resource: 'writer' });
    const reader = client({ resource: 'reader' });
    await writer.start();
    await reader.start();
    // Notifications go to available clients only; the ping makes sure the presence was handled.
    await reader.presence();
    await reader.ping();
    const from = reader.mark();
    const field = (v: string, value: string) => xml('field', { var: v }, xml('value', {}, value));
    await writer.iq(
      'set',
      xml(
        'pubsub',
        { xmlns: PUBSUB },
        xml('publish', { node: NATIVE }, xml('item', { id: 'tea@muc.example.org' }, xml('conference', { xmlns: NATIVE, name: 'Tea', autojoin: 'true' }, xml('nick', {}, 'me')))),
        xml(
          'publish-options',
          {},
          xml(
            'x',
            { xmlns: 'jabber:x:data', type: 'submit' },
            xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${PUBSUB}#publish-options`)),
            field('pubsub#persist_items', 'true'),
            field('pubsub#access_model', 'whitelist'),
            field('pubsub#max_items', 'max'),
          ),
        ),
      ),
    );
    // No caps from this client: it gets every node's notifications.
    const ev = await reader.waitFor((el) => el.is('message') && el.getChild('event', `${PUBSUB}#event`)?.getChild('items')?.attrs.node === NATIVE, 30_000, from);
    expect(ev.getChild('event')!.getChild('items')!.getChild('item')!.attrs.id).toBe('tea@muc.example.org');
    const got = await reader.iq('get', xml('pubsub', { xmlns: PUBSUB }, xml('items', { node: NATIVE })));
    const conf = got.getChild('items')!.getChild('item')!.getChild('conference', NATIVE)!;
    expect([conf.attrs.name, conf.getChildText('nick')]).toEqual(['Tea', 'me']);
  }, T);

  it('refuses a WebSocket from a foreign Origin with HTTP 403 before any upgrade', async () => {
    const url = `ws://127.0.0.1:${gw.websocketPort}${WS_PATH}`;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, ['xmpp'], { origin: 'https://evil.example' });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        ws.terminate();
        reject(new Error('a foreign Origin was accepted'));
      });
      ws.on('error', (err) => reject(err));
    });
    expect(status).toBe(403);
  }, T);
});
