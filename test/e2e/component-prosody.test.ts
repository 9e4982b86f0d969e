// Transport mode on a real Prosody: users of the server register with the gateway component
// (XEP-0077 from slixmpp), add reference peers (openssl s_server, gnutls-serv, gnutls-cli) and
// chat both ways; two users never see each other's peers; identity and contacts survive a
// gateway restart; the server going away loses nothing; a wrong secret is told plainly.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { interopSuite } from '../support/tools.js';
import { startComponentE2e, type E2eComponentGateway } from './support/component-gateway.js';
import { login, messageFrom, registerWithGateway, seesOnline, T, tellGateway, WAIT, type ComponentUser } from './support/component-users.js';
import { gnutlsCli, gnutlsServ, opensslServer } from './support/reference-peer.js';

const DOMAIN = 'peers.localhost';
const SECRET = 'component-secret-for-tests';
const USERS = { alice: 'alice-pw-1', bob: 'bob-pw-2', carol: 'carol-pw-3' };

interopSuite('e2e: Prosody users ⇄ gateway component ⇄ reference peers', ['prosody', 'prosody-modules', 'slixmpp', 'openssl', 'gnutls-serv', 'gnutls-cli'], () => {
  let prosody: ProsodyServer;
  let gw: E2eComponentGateway;
  let peerPortBase: number;
  const clients: SlixmppClient[] = [];
  const peers: Array<{ proc: { kill(): Promise<unknown> } }> = [];
  let alice: ComponentUser;

  const startGateway = async (dataDir?: string) =>
    startComponentE2e({ domain: DOMAIN, secret: SECRET, port: prosody.componentPort, peerPortBase, dataDir, graceMs: 5_000 });

  beforeAll(async () => {
    prosody = await startProsody({ users: USERS, components: { [DOMAIN]: SECRET } });
    peerPortBase = (await freePort()) - 1;
    gw = await startGateway();
    await gw.log.waitFor((l) => l.msg === 'component connected', WAIT);
  }, T);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await Promise.all(peers.map((p) => p.proc.kill()));
    await gw?.stop();
    await prosody?.stop();
    removeTmpDirs();
  }, T);

  it('a user registers, adds a listening reference peer, chats both ways, and keeps identity and contacts across a gateway restart', async () => {
    const client = await login(prosody, 'alice', USERS.alice, clients);
    alice = await registerWithGateway(client, 'alice', prosody.domain, DOMAIN);
    expect(alice.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // The user accepted the gateway's subscription (slixmpp does, as clients do once the user clicks): the gateway is online.
    await seesOnline(client, DOMAIN);

    const id = await makeOpensslIdentity(tmpDir('sam'));
    const sam = await opensslServer(id);
    peers.push(sam);
    const samJid = `${id.fingerprint}@${DOMAIN}`;
    const since = client.mark();
    expect(await tellGateway(client, DOMAIN, `add tlsim://${id.fingerprint}@127.0.0.1:${sam.port} Sam`, /^Added /)).toContain('Added Sam');
    // Offered by a subscription request from the peer's JID; accepted; online once the link is up.
    await client.waitForEvent((e) => e.event === 'subscription' && e.from === samJid && e.type === 'subscribe', WAIT, since);
    await seesOnline(client, samJid, since);

    await client.request({ cmd: 'send', to: samJid, body: 'hello sam' });
    await sam.proc.waitFor(/^hello sam$/m, WAIT, { stream: 'stdout' });
    let from = client.mark();
    await sam.type('hello alice\n');
    expect((await messageFrom(client, samJid, /hello alice/, from)).body).toBe('hello alice');

    // Restart: same data directory, same ports.
    await gw.stop();
    gw = await startGateway(gw.dataDir);
    await gw.log.waitFor((l) => l.msg === 'component connected', WAIT);
    const share = await tellGateway(client, DOMAIN, 'share', /tlsim:\/\//);
    expect(share).toContain(alice.fingerprint);
    expect(await tellGateway(client, DOMAIN, 'list', /Sam/)).toContain(id.fingerprint.slice(0, 8));
    await seesOnline(client, samJid, from);
    await client.request({ cmd: 'send', to: samJid, body: 'after the restart' });
    await sam.proc.waitFor(/^after the restart$/m, WAIT, { stream: 'stdout' });
    from = client.mark();
    await sam.type('welcome back\n');
    await messageFrom(client, samJid, /welcome back/, from);
  }, T);

  it('a reference peer that dials the user is a contact request the user accepts, then chats', async () => {
    const client = alice.client;
    const id = await makeOpensslIdentity(tmpDir('gina'));
    const port = Number(/:(\d+)$/.exec(alice.share)![1]);
    const since = client.mark();
    const gina = await gnutlsCli(id, port);
    peers.push(gina);
    await gina.handshake;
    const ginaJid = `${id.fingerprint}@${DOMAIN}`;
    // Policy "ask": a subscription request from the unknown peer; slixmpp approves it, which accepts the peer.
    await client.waitForEvent((e) => e.event === 'subscription' && e.from === ginaJid && e.type === 'subscribe', WAIT, since);
    await seesOnline(client, ginaJid, since);
    await gina.type('hi, this is gina\n');
    await messageFrom(client, ginaJid, /hi, this is gina/, since);
    await client.request({ cmd: 'send', to: ginaJid, body: 'hello gina' });
    await expect.poll(() => gina.received(), { timeout: WAIT }).toContain('hello gina');
  }, T);

  it('two users each get their own fingerprint and peer, and never see the other\'s', async () => {
    const client = await login(prosody, 'bob', USERS.bob, clients);
    const bob = await registerWithGateway(client, 'bob', prosody.domain, DOMAIN);
    expect(bob.fingerprint).not.toBe(alice.fingerprint);
    const id = await makeOpensslIdentity(tmpDir('echo'));
    const echo = await gnutlsServ(id);
    peers.push(echo);
    const echoJid = `${id.fingerprint}@${DOMAIN}`;
    const aliceSince = alice.client.mark();
    const since = client.mark();
    await tellGateway(client, DOMAIN, `add tlsim://${id.fingerprint}@127.0.0.1:${echo.port} Echo`, /^Added /);
    await seesOnline(client, echoJid, since);
    await client.request({ cmd: 'send', to: echoJid, body: 'only for bob' });
    await echo.proc.waitFor(/only for bob/, WAIT);
    // gnutls-serv --echo sends the line back: it reaches Bob, and only Bob.
    await messageFrom(client, echoJid, /only for bob/, since);
    // Alice cannot write to Bob's peer: not her contact.
    await alice.client.request({ cmd: 'send', to: echoJid, body: 'from alice' });
    const refused = await alice.client.waitForEvent((e) => e.event === 'message' && e.type === 'error' && e.from.startsWith(echoJid), WAIT, aliceSince);
    expect(refused.event).toBe('message');
    await new Promise((r) => setTimeout(r, 500));
    expect(echo.proc.output('stdout')).not.toContain('from alice');
    // Nothing of Bob's peer reached Alice but the refusal of her own message.
    const fromEcho = await alice.client.waitForEvent((e) => e.event === 'message' && e.from.startsWith(echoJid) && e.type !== 'error', 500, aliceSince).catch(() => undefined);
    expect(fromEcho).toBeUndefined();
  }, T);

  describe('a server that grants the gateway its users\' rosters (XEP-0356, mod_privilege)', () => {
    const PRIV = 'tlsim.localhost';
    let server: ProsodyServer;
    let privGw: E2eComponentGateway;
    beforeAll(async () => {
      server = await startProsody({ users: { dana: 'dana-pw' }, components: { [PRIV]: SECRET }, privileged: [PRIV] });
      privGw = await startComponentE2e({ domain: PRIV, secret: SECRET, port: server.componentPort, peerPortBase: (await freePort()) - 1 });
      await privGw.log.waitFor((l) => /rosters \(XEP-0356\)/.test(l.msg), WAIT);
    }, T);
    afterAll(async () => {
      await privGw?.stop();
      await server?.stop();
    }, T);

    it('writes a new peer straight into the roster, named, with no subscription request to accept', async () => {
      // This user's client accepts nothing by itself: the roster item must come from the gateway's privilege.
      const client = await login(server, 'dana', 'dana-pw', clients, { auto_authorize: null, auto_subscribe: false });
      await registerWithGateway(client, 'dana', server.domain, PRIV);
      const id = await makeOpensslIdentity(tmpDir('priya'));
      const priya = await opensslServer(id);
      peers.push(priya);
      const peerJid = `${id.fingerprint}@${PRIV}`;
      const since = client.mark();
      await tellGateway(client, PRIV, `add tlsim://${id.fingerprint}@127.0.0.1:${priya.port} Priya`, /^Added /);
      await seesOnline(client, peerJid, since);
      await expect
        .poll(async () => (await client.request({ cmd: 'roster' })).items.find((i) => i.jid === peerJid), { timeout: WAIT })
        .toMatchObject({ name: 'Priya', subscription: 'both' });
      const asked = await client
        .waitForEvent((e) => e.event === 'subscription' && e.from === peerJid && e.type === 'subscribe', 1_000, since)
        .catch(() => undefined);
      expect(asked).toBeUndefined();
      // Removing the contact takes it out of the roster the same way.
      await tellGateway(client, PRIV, `remove ${id.fingerprint}`, /Removed|removed/);
      await expect.poll(async () => (await client.request({ cmd: 'roster' })).items.some((i) => i.jid === peerJid), { timeout: WAIT }).toBe(false);
    }, T);

    it('bookmarks an added room in the user\'s PEP on their own server (XEP-0402 through the iq privilege), once, when they come online', async () => {
      onTestFailed(() => console.log(privGw.log.tail(40)));
      const client = await login(server, 'dana', 'dana-pw', clients);
      const room = await makeOpensslIdentity(tmpDir('room'));
      await tellGateway(client, PRIV, `room add tlsim://${room.fingerprint}@127.0.0.1:9 book`, /book@tlsim\.localhost/);
      await client.stop();
      // Their next login: the room is a bookmark on Prosody, with autojoin and the nick, which their clients read from there.
      const again = await login(server, 'dana', 'dana-pw', clients, { pep: true });
      let items: { item_id: string; xml: string }[] = [];
      await expect
        .poll(async () => (items = (await again.request({ cmd: 'pep_items', node: 'urn:xmpp:bookmarks:1' })).items).map((i) => i.item_id), { timeout: WAIT, interval: 500 })
        .toEqual([`book@${PRIV}`]);
      // (ElementTree writes namespaces as prefixes: ns1:conference.)
      expect(items[0]!.xml).toContain('"urn:xmpp:bookmarks:1"');
      expect(items[0]!.xml).toMatch(/:conference [^>]*autojoin="true"/);
      expect(items[0]!.xml).toMatch(/:nick>dana<\//);
      // Removed by the user on their server, it stays removed: the gateway bookmarks a room once.
      await again.request({ cmd: 'pep_retract', node: 'urn:xmpp:bookmarks:1', item_id: `book@${PRIV}` });
      await again.stop();
      const third = await login(server, 'dana', 'dana-pw', clients, { pep: true });
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await third.request({ cmd: 'pep_items', node: 'urn:xmpp:bookmarks:1' }).catch(() => ({ items: [] }))).items).toEqual([]);
      expect(privGw.log.lines.some((l) => /refused a privileged request/.test(String(l.msg)))).toBe(false);
    }, T);

    it('a room added while the user is online is bookmarked on their server at once (their server tells the client), and removed with the room', async () => {
      onTestFailed(() => console.log(privGw.log.tail(40)));
      const client = await login(server, 'dana', 'dana-pw', clients, { pep: true, notify: ['urn:xmpp:bookmarks:1'] });
      const room = await makeOpensslIdentity(tmpDir('room'));
      const jid = `live@${PRIV}`;
      const pepEvent = (kind: string, from: number) =>
        client.waitForEvent((e) => e.event === 'pep_event' && e.node === 'urn:xmpp:bookmarks:1' && e.kind === kind && e.item_id === jid, WAIT, from);
      let from = client.mark();
      await tellGateway(client, PRIV, `room add tlsim://${room.fingerprint}@127.0.0.1:9 live`, /live@tlsim\.localhost/);
      await pepEvent('publish', from);
      expect((await client.request({ cmd: 'pep_items', node: 'urn:xmpp:bookmarks:1' })).items.map((i) => i.item_id)).toEqual([jid]);
      from = client.mark();
      await tellGateway(client, PRIV, 'room remove live', /^Removed room live/);
      await pepEvent('retract', from);
      expect((await client.request({ cmd: 'pep_items', node: 'urn:xmpp:bookmarks:1' }).catch(() => ({ items: [] }))).items).toEqual([]);
    }, T);
  });

  describe('the server and the secret', () => {
    it('a wrong secret is told plainly and retried; the right gateway keeps serving', async () => {
      const wrong = await startComponentE2e({ domain: DOMAIN, secret: 'not-the-secret', port: prosody.componentPort, peerPortBase: 0 });
      try {
        const line = await wrong.log.waitFor((l) => /refused the component secret/.test(l.msg), WAIT);
        expect(line.msg).toContain(DOMAIN);
        expect(JSON.stringify(wrong.log.lines)).not.toContain('not-the-secret');
        expect(wrong.running.status().component?.connected).toBe(false);
      } finally {
        await wrong.stop();
      }
      expect(gw.running.status().component?.connected).toBe(true);
    }, T);

    it('a second gateway for a domain already served is told so and retried; the first keeps serving', async () => {
      const second = await startComponentE2e({ domain: DOMAIN, secret: SECRET, port: prosody.componentPort, peerPortBase: 0 });
      try {
        const line = await second.log.waitFor((l) => /already serves/.test(l.msg), WAIT);
        expect(line.msg).toContain(`another connection already serves ${DOMAIN}`);
        expect(second.running.status().component?.connected).toBe(false);
      } finally {
        await second.stop();
      }
      expect(gw.running.status().component?.connected).toBe(true);
      // And still works: the gateway answers Alice.
      expect(await tellGateway(alice.client, DOMAIN, 'share', /tlsim:\/\//)).toContain(alice.fingerprint);
    }, T);

    it('Prosody killed and started again: the gateway reconnects and a message a peer sent meanwhile reaches the user, stamped', async () => {
      const id = await makeOpensslIdentity(tmpDir('carl'));
      const carl = await opensslServer(id);
      peers.push(carl);
      const carlJid = `${id.fingerprint}@${DOMAIN}`;
      let since = alice.client.mark();
      await tellGateway(alice.client, DOMAIN, `add tlsim://${id.fingerprint}@127.0.0.1:${carl.port} Carl`, /^Added /);
      await seesOnline(alice.client, carlJid, since);

      // A peer that is away: what Alice writes to it waits in the gateway's queue across everything below.
      const dora = await makeOpensslIdentity(tmpDir('dora'));
      const doraPort = await freePort();
      const doraJid = `${dora.fingerprint}@${DOMAIN}`;
      await tellGateway(alice.client, DOMAIN, `add tlsim://${dora.fingerprint}@127.0.0.1:${doraPort} Dora`, /^Added /);
      await alice.client.request({ cmd: 'send', to: doraJid, body: 'queued for dora' });
      await messageFrom(alice.client, DOMAIN, /Not sent yet/, since);

      const mark = gw.log.mark();
      await prosody.restart();
      await gw.log.waitFor((l) => /component stream down/.test(l.msg), WAIT, mark);
      // While the server is away, the peer writes.
      await carl.type('sent while the server was down\n');
      await gw.log.waitFor((l) => l.msg === 'component connected', 60_000, mark);
      // Alice's client lost its server too; she logs in again and gets the message with its delay stamp.
      const client = await login(prosody, 'alice', USERS.alice, clients);
      since = 0;
      const late = await messageFrom(client, carlJid, /sent while the server was down/, since, 60_000);
      expect(late.delay).toMatch(/^\d{4}-\d\d-\d\dT/);
      // Dora comes up: the message queued before the server went away reaches her, once.
      const doraServer = await opensslServer(dora, doraPort);
      peers.push(doraServer);
      await doraServer.proc.waitFor(/^queued for dora$/m, 60_000, { stream: 'stdout' });
      await new Promise((r) => setTimeout(r, 500));
      expect(doraServer.proc.output('stdout').match(/queued for dora/g)).toHaveLength(1);
    }, T);
  });
});
