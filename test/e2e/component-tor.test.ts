// Transport mode over Tor, offline: a private Tor network on loopback (3 authorities + 2 relays), a Prosody with the
// gateway as its component, the gateway running its own tor on that network. A slixmpp user registers and gets an
// onion share string; their onion is published; a reference peer (gnutls-cli through another tor's SOCKS via socat
// SOCKS4A) dials it, is a contact request the user accepts, and they chat both ways; a second user gets another
// onion; a room the first hosts is reached at a port of her onion; unregistering withdraws her onion (research/tor.md §4;
// XEP-0077, XEP-0114).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { onionKeyFromPem } from '../../bridge-protocol/tor/onion-key.js';
import { TorService } from '../../bridge-protocol/tor/service.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { isAlive, killAll, spawnProc, waitUntil } from '../support/proc.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { startTorNetwork, type TorNetwork } from '../support/tor-network.js';
import { interopSuite } from '../support/tools.js';
import { startComponentE2e, type E2eComponentGateway } from './support/component-gateway.js';
import { login, messageFrom, registerWithGateway, seesOnline, tellGateway, WAIT, type ComponentUser } from './support/component-users.js';
import { gnutlsCli } from './support/reference-peer.js';

const DOMAIN = 'peers.localhost';
const SECRET = 'component-secret-for-tor-tests';
const USERS = { alice: 'alice-pw-1', bob: 'bob-pw-2' };
const READY_MS = 90_000;
const SHARE = /^tlsim:\/\/([0-9a-f]{64})@([a-z2-7]{56})\.onion:18765$/;

interopSuite('e2e over Tor: Prosody users of the gateway component, each with an onion of their own', ['tor', 'prosody', 'slixmpp', 'socat', 'gnutls-cli'], () => {
  let network: TorNetwork | undefined;
  let prosody: ProsodyServer | undefined;
  let gw: E2eComponentGateway | undefined;
  /** The reference peer's own tor: a client of the private network, nothing published. */
  let refTor: TorService | undefined;
  const torPids = new Set<number>();
  const clients: SlixmppClient[] = [];
  let alice!: ComponentUser;
  let aliceOnion = '';
  const t0 = Date.now();
  const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const timeline: string[] = [];

  const gatewayTor = () => gw!.running.tor!.tor.service;
  const onionsOnTor = async (): Promise<string[]> => (await gatewayTor().control!.getInfoOne('onions/current')).split('\n').filter(Boolean);
  const follow = (svc: TorService): void => {
    const note = (): void => {
      if (svc.pid) torPids.add(svc.pid);
    };
    note();
    svc.on('status', note);
  };
  /** The onion key files under the gateway's users/ directories: service id → file. */
  const keyFiles = (): Map<string, string> => {
    const out = new Map<string, string>();
    const users = join(gw!.dataDir, 'users');
    for (const d of readdirSync(users)) {
      const file = join(users, d, 'onion-key.pem');
      try {
        out.set(onionKeyFromPem(readFileSync(file, 'utf8')).serviceId, file);
      } catch {
        // a user without one
      }
    }
    return out;
  };

  /** gnutls-cli through the reference's tor (socat SOCKS4A) to `onion:port`, tried again while the descriptor spreads. */
  async function dialOnion(id: Awaited<ReturnType<typeof makeOpensslIdentity>>, onion: string, virt: number) {
    const socks = refTor!.socks!;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const socat = await spawnProc('socat', ['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `SOCKS4A:127.0.0.1:${onion}.onion:${virt},socksport=${socks.port}`], {
        stdin: 'ignore',
      });
      await socat.waitFor(/listening on/, 10_000, { stream: 'stderr' });
      const ref = await gnutlsCli(id, port);
      if (await ref.handshake.then(() => true, () => false)) return { ref, socat, attempt };
      await ref.proc.kill();
      await socat.kill();
      // Right after publication a descriptor may not have spread yet (tor's 0xF0): try again shortly.
      if (attempt >= 5) throw new Error(`gnutls-cli never got through: ${ref.proc.tails(600)}${socat.tails(600)}`);
      await new Promise((r) => setTimeout(r, 1_000 * attempt));
    }
  }

  beforeAll(async () => {
    [network, prosody] = await Promise.all([
      startTorNetwork({ dir: tmpDir('tlsim-tornet-component'), timeoutMs: 120_000 }),
      startProsody({ users: USERS, components: { [DOMAIN]: SECRET } }),
    ]);
    timeline.push(`network: full consensus ${(network.timings.consensusMs / 1000).toFixed(1)} s`);
    const hooks = { extraOptions: network.clientOptions, bootstrapStallMs: 20_000, restart: { initialMs: 500, maxMs: 4_000 } };
    gw = await startComponentE2e({ domain: DOMAIN, secret: SECRET, port: prosody.componentPort, peerPortBase: (await freePort()) - 1, graceMs: 5_000, tor: hooks });
    follow(gatewayTor());
    refTor = new TorService({ mode: 'launch', launch: { dataDir: join(tmpDir('tlsim-ref-tor'), 'tor'), extraOptions: network.clientOptions }, ...hooks });
    follow(refTor);
    await refTor.start();
    await gw.log.waitFor((l) => l.msg === 'component connected', WAIT);
    await Promise.all([
      waitUntil(() => gw!.running.status().tor.state === 'ready', READY_MS),
      waitUntil(() => refTor!.status().state === 'ready', READY_MS),
    ]);
    timeline.push(`gateway's and reference's tors ready at ${at()}`);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await gw?.stop();
    await refTor?.stop();
    await prosody?.stop();
    await network?.stop();
    await killAll();
    const alive = [...torPids].filter(isAlive);
    for (const pid of alive) process.kill(pid, 'SIGKILL');
    console.info(`component tor e2e timeline: ${timeline.join('; ')}`);
    removeTmpDirs();
    expect(alive, 'every tor stopped with its owner').toEqual([]);
  }, 60_000);

  it('a user registers: the welcome\'s share string is their onion (key 0600 in their directory); tor runs for the gateway with no onion of its own', async (ctx) => {
    ctx.onTestFailed(() => console.error(`--- gateway log ---\n${gw!.log.tail(60)}`));
    const s = gw!.running.status();
    expect(s.tor).toMatchObject({ mode: 'launch', state: 'ready', bootstrap: { progress: 100 }, onion: null, published: false, onions: { kept: 0, published: 0 } });
    expect(s.tor.socks).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(gw!.log.lines.some((l) => /Tor is not used in component mode/.test(l.msg))).toBe(false);

    const client = await login(prosody!, 'alice', USERS.alice, clients);
    alice = await registerWithGateway(client, 'alice', prosody!.domain, DOMAIN);
    const m = SHARE.exec(alice.share);
    expect(m, alice.share).not.toBeNull();
    expect(m![1]).toBe(alice.fingerprint);
    aliceOnion = m![2]!;
    const file = keyFiles().get(aliceOnion);
    expect(file, 'the onion of the share string is the key stored in the user\'s directory').toBeDefined();
    expect(statSync(file!).mode & 0o777).toBe(0o600);

    await gw!.log.waitFor((l) => l.msg === 'onion service published: peers can reach this user' && l.onion === `${aliceOnion}.onion`, READY_MS);
    timeline.push(`alice's onion published at ${at()}`);
    expect(await onionsOnTor()).toEqual([aliceOnion]);
    expect(gw!.running.status().tor.onions).toEqual({ kept: 1, published: 1 });
    await seesOnline(client, DOMAIN);
  }, 150_000);

  it('a reference peer dials the user\'s onion through tor (socat SOCKS4A, gnutls-cli): a contact request she accepts, then a chat both ways', async (ctx) => {
    ctx.onTestFailed(() => console.error(`--- gateway log ---\n${gw!.log.tail(60)}`));
    const client = alice.client;
    const id = await makeOpensslIdentity(tmpDir('ref-peer'), { name: 'ref' });
    const refJid = `${id.fingerprint}@${DOMAIN}`;
    const since = client.mark();
    const { ref, socat, attempt } = await dialOnion(id, aliceOnion, 18765);
    timeline.push(`reference peer through alice's onion at ${at()}${attempt > 1 ? ` (try ${attempt})` : ''}`);
    // Policy "ask": a subscription request from the unknown peer; slixmpp approves it, which accepts the peer.
    await client.waitForEvent((e) => e.event === 'subscription' && e.from === refJid && e.type === 'subscribe', WAIT, since);
    await seesOnline(client, refJid, since);
    await ref.type('hello alice, from a reference peer over Tor\n');
    expect((await messageFrom(client, refJid, /hello alice/, since, 60_000)).body).toBe('hello alice, from a reference peer over Tor');
    await client.request({ cmd: 'send', to: refJid, body: 'hello reference, from alice' });
    await expect.poll(() => ref.received(), { timeout: 60_000 }).toContain('hello reference, from alice');
    timeline.push(`chatted both ways at ${at()}`);
    await ref.proc.kill();
    await socat.kill();
  }, 150_000);

  it('a second user gets an onion of their own, published on the same tor; the first adds them by share string and they chat, onion to onion', async (ctx) => {
    ctx.onTestFailed(() => console.error(`--- gateway log ---\n${gw!.log.tail(60)}`));
    const client = await login(prosody!, 'bob', USERS.bob, clients);
    const bob = await registerWithGateway(client, 'bob', prosody!.domain, DOMAIN);
    const bobOnion = SHARE.exec(bob.share)?.[2];
    expect(bobOnion, bob.share).toBeDefined();
    expect(bobOnion).not.toBe(aliceOnion);
    expect(keyFiles().has(bobOnion!)).toBe(true);
    await gw!.log.waitFor((l) => l.msg === 'onion service published: peers can reach this user' && l.onion === `${bobOnion}.onion`, READY_MS);
    expect((await onionsOnTor()).sort()).toEqual([aliceOnion, bobOnion].sort());
    timeline.push(`bob's onion published at ${at()}`);

    // Alice's side dials Bob's onion through the gateway's tor (the user's dialer), as it would any onion peer.
    const aliceJid = `${alice.fingerprint}@${DOMAIN}`;
    const bobJid = `${bob.fingerprint}@${DOMAIN}`;
    const aliceSince = alice.client.mark();
    const bobSince = client.mark();
    expect(await tellGateway(alice.client, DOMAIN, `add ${bob.share} Bob`, /^Added /)).toContain('Added Bob');
    await client.waitForEvent((e) => e.event === 'subscription' && e.from === aliceJid && e.type === 'subscribe', 120_000, bobSince);
    await seesOnline(alice.client, bobJid, aliceSince, 60_000);
    await alice.client.request({ cmd: 'send', to: bobJid, body: 'hello bob, onion to onion' });
    expect((await messageFrom(client, aliceJid, /onion to onion/, bobSince, 60_000)).body).toBe('hello bob, onion to onion');
    await client.request({ cmd: 'send', to: aliceJid, body: 'hello alice, back the same way' });
    await messageFrom(alice.client, bobJid, /back the same way/, aliceSince, 60_000);
    expect(gw!.running.transport.user(alice.jid)!.network.getContact(bob.fingerprint)).toMatchObject({ online: true, address: `${bobOnion}.onion:18765` });
    timeline.push(`alice and bob chatted over their onions at ${at()}`);
  }, 240_000);

  it('a room the user hosts is one more port of their onion: its share string names it, and a reference member joins through tor', async (ctx) => {
    ctx.onTestFailed(() => console.error(`--- gateway log ---\n${gw!.log.tail(60)}`));
    const reply = await tellGateway(alice.client, DOMAIN, 'room host den', /^Hosting room den/);
    const m = /tlsim:\/\/[0-9a-f]{64}@([a-z2-7]{56})\.onion:(\d+)/.exec(reply);
    expect(m?.[1], reply).toBe(aliceOnion);
    const member = await dialOnion(await makeOpensslIdentity(tmpDir('den-member'), { name: 'hank' }), aliceOnion, Number(m![2]));
    timeline.push(`a member through alice's onion into her room at ${at()}${member.attempt > 1 ? ` (try ${member.attempt})` : ''}`);
    await expect.poll(() => member.ref.received(), { timeout: 60_000 }).toContain('Enter your alias, please.');
    await member.ref.proc.kill();
    await member.socat.kill();
  }, 150_000);

  it('unregistering withdraws the user\'s onion from tor and deletes its key', async () => {
    const mark = gw!.log.mark();
    await alice.client.request({ cmd: 'unregister', to: DOMAIN });
    await gw!.log.waitFor((l) => l.msg === 'onion service withdrawn' && l.onion === `${aliceOnion}.onion`, WAIT, mark);
    await gw!.log.waitFor((l) => /^user unregistered/.test(l.msg), WAIT, mark);
    expect(await onionsOnTor()).not.toContain(aliceOnion);
    expect(await onionsOnTor()).toHaveLength(1);
    expect(keyFiles().has(aliceOnion)).toBe(false);
    expect(gatewayTor().onionServiceIds()).not.toContain(aliceOnion);
  }, 60_000);
});
