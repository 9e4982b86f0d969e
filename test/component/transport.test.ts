// The transport mode's switchboard with a stand-in for the server's component stream (what the
// server would deliver) and real peers on loopback: registration, presence-driven peer sessions,
// roster offers by subscription, chat both ways, offline delivery, two users, restart, unregister.
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity, type PeerManager } from '../../bridge-protocol/index.js';
import { TlsimNetwork } from '../../gateway/bridge/tlsim-network.js';
import { REGISTRATIONS_PER_MINUTE, Transport } from '../../gateway/component/transport.js';
import { UserRegistry } from '../../gateway/accounts/registry.js';
import { openStore, type Store } from '../../gateway/store/index.js';
import { silentLogger } from '../../gateway/xmpp/log.js';
import { storeOfflineBox } from '../../gateway/xmpp/offline-box.js';
import { x, type Element } from '../../gateway/xmpp/xml/element.js';
import { removeTmpDirs, selfSigned, tmpDir } from '../support/identities.js';
import { closeServer, listenLocal } from '../support/net.js';
import { managerPool } from '../support/peer-managers.js';
import { waitUntil } from '../support/proc.js';

const DOMAIN = 'peers.example.org';
const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const COMMANDS = 'http://jabber.org/protocol/commands';
const pool = managerPool();

/** What the server would have received from us. */
class FakeStream {
  readonly domain = DOMAIN;
  readonly sent: Element[] = [];
  up = true;
  get online(): boolean {
    return this.up;
  }
  send(stanza: Element): boolean {
    if (!this.up) return false;
    this.sent.push(stanza);
    return true;
  }
  take(pred: (el: Element) => boolean): Element[] {
    return this.sent.filter(pred);
  }
  async next(pred: (el: Element) => boolean, ms = 10_000): Promise<Element> {
    let found: Element | undefined;
    await waitUntil(() => (found = this.sent.find(pred)) !== undefined, ms);
    this.sent.splice(this.sent.indexOf(found!), 1);
    return found!;
  }
}

let stores: Store[] = [];
const transports: Transport[] = [];

function setup(
  dataDir = tmpDir('component'),
  opts: { peerSession?: 'presence' | 'always'; graceMs?: number; now?: () => number; port?: number } = {},
) {
  const store = openStore(dataDir);
  stores.push(store);
  const stream = new FakeStream();
  const registry = new UserRegistry(store, dataDir);
  const transport = new Transport({
    stream,
    registry,
    peerSession: opts.peerSession ?? 'presence',
    graceMs: opts.graceMs ?? 60_000,
    now: opts.now,
    log: silentLogger(),
    offlineFor: (user, log) => storeOfflineBox(store, user.account.id, log),
    makeNetwork: (user, log, o) =>
      new TlsimNetwork({
        store,
        accountId: user.account.id,
        identity: user.identity,
        log,
        listen: { host: '127.0.0.1', port: o?.anyPort ? 0 : (opts.port ?? 0) },
        unknownPolicy: 'ask',
        peerOptions: { backoff: { initialMs: 100, maxMs: 500 } },
      }),
  });
  transports.push(transport);
  return { stream, transport, registry, dataDir, store };
}

const from = (jid: string) => (el: Element) => el.attrs.from === jid;
const to = (jid: string) => (el: Element) => el.attrs.to?.split('/')[0] === jid;
const body = (el: Element) => el.getChildText('body') ?? '';

function iq(type: 'get' | 'set', fromJid: string, toJid: string, payload: Element, id = 'q1'): Element {
  return x('iq', { type, id, from: fromJid, to: toJid }, payload);
}
function chat(fromJid: string, toJid: string, text: string): Element {
  return x('message', { type: 'chat', from: fromJid, to: toJid }, x('body', null, text));
}
function online(t: Transport, jid: string, resource = 'phone'): void {
  t.onStanza(x('presence', { from: `${jid}/${resource}`, to: DOMAIN }));
}
async function register(t: Transport, stream: FakeStream, jid: string): Promise<string> {
  t.onStanza(iq('set', `${jid}/phone`, DOMAIN, x('query', { xmlns: 'jabber:iq:register' }), `reg-${jid}`));
  const result = await stream.next((el) => el.attrs.id === `reg-${jid}`);
  expect(result.attrs.type).toBe('result');
  const hello = await stream.next((el) => el.name === 'message' && to(jid)(el) && body(el).includes('fingerprint'));
  return /fingerprint: ([0-9a-f]{64})/.exec(body(hello))![1]!;
}

let peerA: Identity;
let peerB: Identity;
beforeAll(async () => {
  [peerA, peerB] = await Promise.all([generateIdentity(), generateIdentity()]);
});
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const s of stores.splice(0)) s.close();
  await pool.stopAll();
});
afterAll(() => removeTmpDirs());

/** A peer that knows the user's fingerprint (it was given their share string) and waits for their call. */
async function peer(id: Identity, knows: string): Promise<{ m: PeerManager; addr: string; got: string[] }> {
  const m = pool.manager(id);
  m.setPeer(knows, undefined);
  const got: string[] = [];
  m.on('message', (_fp, msg) => got.push(msg.text));
  await m.start();
  const a = m.addresses()[0]!;
  return { m, addr: `${a.host}:${a.port}`, got };
}

describe('strangers', () => {
  it('see a gateway they can register with, and nothing else', async () => {
    const { stream, transport } = setup();
    transport.onStanza(iq('get', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const info = await stream.next(to(ALICE));
    expect(info.attrs.type).toBe('result');
    expect(info.attrs.from).toBe(DOMAIN);
    const identity = info.getChild('query')!.getChild('identity')!;
    expect([identity.attrs.category, identity.attrs.type]).toEqual(['gateway', 'tlsim']);
    expect(info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var)).toContain('jabber:iq:register');

    transport.onStanza(iq('get', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'jabber:iq:register' }), 'form'));
    const form = await stream.next((el) => el.attrs.id === 'form');
    expect(form.getChild('query')!.getChild('registered')).toBeUndefined();
    expect(form.getChild('query')!.getChild('x', 'jabber:x:data')).toBeDefined();

    transport.onStanza(chat(`${ALICE}/phone`, `${'a'.repeat(64)}@${DOMAIN}`, 'hi'));
    const refused = await stream.next(to(ALICE));
    expect(refused.attrs.type).toBe('error');
    expect(refused.getChild('error')!.getChild('registration-required')).toBeDefined();

    transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, 'help'));
    expect(body(await stream.next(to(ALICE)))).toMatch(/not registered.*send "register"/s);
  });
});

describe('a registered user', () => {
  it('gets an identity of their own (0600), a subscription request from the gateway, and peer links while online', async () => {
    const { stream, transport, registry, dataDir } = setup();
    const fp = await register(transport, stream, ALICE);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    const sub = await stream.next((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && from(DOMAIN)(el));
    expect(sub.attrs.to).toBe(ALICE);
    const key = join(registry.dirOf(ALICE), 'key.pem');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    // Their onion key too, made once at registration, the same one whenever Tor is used.
    expect(statSync(join(registry.dirOf(ALICE), 'onion-key.pem')).mode & 0o777).toBe(0o600);
    expect((await registry.load(ALICE))!.onionKey.serviceId).toMatch(/^[a-z2-7]{56}$/);
    expect(key.startsWith(dataDir)).toBe(true);
    // Registering while online starts the links at once: the share string is there.
    expect(transport.user(ALICE)!.network.selfInfo().share).toMatch(/^tlsim:\/\//);

    // The gateway tells the user's server it is there when the user comes online.
    online(transport, ALICE);
    await stream.next((el) => el.name === 'presence' && from(DOMAIN)(el) && el.attrs.to === `${ALICE}/phone` && !el.attrs.type);

    // Registering again changes nothing; the form says <registered/>.
    transport.onStanza(iq('get', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'jabber:iq:register' }), 'again'));
    expect((await stream.next((el) => el.attrs.id === 'again')).getChild('query')!.getChild('registered')).toBeDefined();
  });

  it('adds a peer by typing to the gateway, is offered it by subscription, and chats both ways', async () => {
    const { stream, transport } = setup();
    const fp = await register(transport, stream, ALICE);
    online(transport, ALICE);
    const a = await peer(peerA, fp);
    transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `add tlsim://${peerA.fingerprint}@${a.addr} Anna`));
    const peerJid = `${peerA.fingerprint}@${DOMAIN}`;
    const offer = await stream.next((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && from(peerJid)(el));
    expect(offer.attrs.to).toBe(ALICE);
    expect(offer.getChildText('nick', 'http://jabber.org/protocol/nick')).toBe('Anna');
    // The user's client accepts and subscribes back, as clients do: the contact approves at once.
    transport.onStanza(x('presence', { type: 'subscribed', from: ALICE, to: peerJid }));
    transport.onStanza(x('presence', { type: 'subscribe', from: ALICE, to: peerJid }));
    await stream.next((el) => el.attrs.type === 'subscribed' && from(peerJid)(el));
    // Online once the link is up.
    await stream.next((el) => el.name === 'presence' && el.attrs.from === `${peerJid}/tlsim` && !el.attrs.type, 15_000);

    transport.onStanza(chat(`${ALICE}/phone`, peerJid, 'hello Anna'));
    await waitUntil(() => a.got.includes('hello Anna'), 10_000);
    a.m.send(fp, 'hello Alice');
    const msg = await stream.next((el) => el.name === 'message' && el.attrs.from === `${peerJid}/tlsim` && body(el) === 'hello Alice');
    expect(msg.attrs.to).toBe(ALICE);
  });

  it('keeps messages that arrive while offline and hands them over with a delay stamp', async () => {
    const { stream, transport } = setup(undefined, { peerSession: 'always' });
    const fp = await register(transport, stream, ALICE);
    const a = await peer(peerA, fp);
    online(transport, ALICE);
    transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `add tlsim://${peerA.fingerprint}@${a.addr}`));
    const peerJid = `${peerA.fingerprint}@${DOMAIN}`;
    await stream.next((el) => el.attrs.type === 'subscribe' && from(peerJid)(el));
    await waitUntil(() => a.m.isOnline(fp), 15_000);
    transport.onStanza(x('presence', { type: 'unavailable', from: `${ALICE}/phone`, to: DOMAIN }));
    await transport.user(ALICE)!.idle();
    a.m.send(fp, 'while you were away');
    await new Promise((r) => setTimeout(r, 300));
    expect(stream.take((el) => body(el) === 'while you were away')).toEqual([]);
    online(transport, ALICE, 'laptop');
    const late = await stream.next((el) => body(el) === 'while you were away');
    expect(to(ALICE)(late)).toBe(true);
    expect(late.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('with peer_session "presence", closes the links a grace period after the user left', async () => {
    const { stream, transport } = setup(undefined, { graceMs: 200 });
    await register(transport, stream, ALICE);
    online(transport, ALICE);
    await transport.user(ALICE)!.idle();
    expect(transport.user(ALICE)!.network.on).toBe(true);
    transport.onStanza(x('presence', { type: 'unavailable', from: `${ALICE}/phone`, to: DOMAIN }));
    await waitUntil(() => !transport.user(ALICE)!.network.on, 5_000);
    online(transport, ALICE);
    await waitUntil(() => transport.user(ALICE)!.network.on, 5_000);
  });
});

describe('two users', () => {
  it('have different identities and never see each other\'s peers or messages', async () => {
    const { stream, transport } = setup();
    const fpAlice = await register(transport, stream, ALICE);
    const fpBob = await register(transport, stream, BOB);
    expect(fpAlice).not.toBe(fpBob);
    online(transport, ALICE);
    online(transport, BOB);
    const [a, b] = await Promise.all([peer(peerA, fpAlice), peer(peerB, fpBob)]);
    transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `add tlsim://${peerA.fingerprint}@${a.addr}`));
    transport.onStanza(chat(`${BOB}/phone`, DOMAIN, `add tlsim://${peerB.fingerprint}@${b.addr}`));
    const aJid = `${peerA.fingerprint}@${DOMAIN}`;
    const bJid = `${peerB.fingerprint}@${DOMAIN}`;
    await stream.next((el) => el.attrs.type === 'subscribe' && from(aJid)(el) && to(ALICE)(el));
    await stream.next((el) => el.attrs.type === 'subscribe' && from(bJid)(el) && to(BOB)(el));
    await waitUntil(() => a.m.isOnline(fpAlice) && b.m.isOnline(fpBob), 15_000);
    a.m.send(fpAlice, 'for alice');
    b.m.send(fpBob, 'for bob');
    expect((await stream.next((el) => body(el) === 'for alice')).attrs.to).toBe(ALICE);
    expect((await stream.next((el) => body(el) === 'for bob')).attrs.to).toBe(BOB);
    // Bob cannot write to Alice's peer: it is not his contact.
    transport.onStanza(chat(`${BOB}/phone`, aJid, 'sneaky'));
    const refused = await stream.next((el) => el.attrs.type === 'error' && to(BOB)(el));
    expect(refused.getChild('error')!.getChild('item-not-found')).toBeDefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(a.got).not.toContain('sneaky');
  });
});

describe('restart and unregistering', () => {
  it('keeps identity and contacts across a restart; unregistering deletes them and ends the subscriptions', async () => {
    const first = setup();
    const fp = await register(first.transport, first.stream, ALICE);
    online(first.transport, ALICE);
    const a = await peer(peerA, fp);
    first.transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `add tlsim://${peerA.fingerprint}@${a.addr} Anna`));
    const peerJid = `${peerA.fingerprint}@${DOMAIN}`;
    await first.stream.next((el) => el.attrs.type === 'subscribe' && from(peerJid)(el));
    await first.transport.close();
    first.store.close();
    stores = stores.filter((s) => s !== first.store);

    const again = setup(first.dataDir);
    await again.transport.open();
    const user = again.transport.user(ALICE)!;
    expect(user.network.selfInfo().fingerprint).toBe(fp);
    expect(user.network.listContacts().map((c) => [c.id, c.name])).toEqual([[peerA.fingerprint, 'Anna']]);
    // No second subscription request for a contact the roster has already been offered.
    again.transport.streamUp();
    expect(again.stream.take((el) => el.attrs.type === 'subscribe' && from(peerJid)(el))).toEqual([]);
    expect(again.stream.take((el) => el.attrs.type === 'probe' && to(ALICE)(el))).toHaveLength(1);

    again.transport.onStanza(iq('set', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'jabber:iq:register' }, x('remove')), 'bye'));
    expect((await again.stream.next((el) => el.attrs.id === 'bye')).attrs.type).toBe('result');
    await again.stream.next((el) => el.attrs.type === 'unsubscribed' && from(peerJid)(el));
    await again.stream.next((el) => el.attrs.type === 'unsubscribed' && from(DOMAIN)(el));
    await waitUntil(() => !existsSync(again.registry.dirOf(ALICE)), 5_000);
    expect(again.registry.isRegistered(ALICE)).toBe(false);
    expect(again.transport.user(ALICE)).toBeUndefined();
  });
});

describe('registration as commands and with an existing identity', () => {
  it('registers and unregisters through XEP-0050 commands listed on the gateway', async () => {
    const { stream, transport } = setup();
    transport.onStanza(iq('get', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'http://jabber.org/protocol/disco#items', node: COMMANDS }), 'items'));
    const items = (await stream.next((el) => el.attrs.id === 'items')).getChild('query')!.getChildren('item');
    expect(items.map((i) => i.attrs.node)).toEqual(['register']);

    transport.onStanza(iq('set', `${ALICE}/phone`, DOMAIN, x('command', { xmlns: COMMANDS, node: 'register', action: 'execute' }), 'run'));
    const done = (await stream.next((el) => el.attrs.id === 'run')).getChild('command')!;
    expect(done.attrs.status).toBe('completed');
    expect(done.getChildText('note')).toMatch(/^Registered\. Your tlsim fingerprint: [0-9a-f]{64}$/);
    expect(transport.isRegistered(ALICE)).toBe(true);

    // Registered: the command list offers leaving, next to the gateway's own commands.
    transport.onStanza(iq('get', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'http://jabber.org/protocol/disco#items', node: COMMANDS }), 'items2'));
    const nodes = (await stream.next((el) => el.attrs.id === 'items2')).getChild('query')!.getChildren('item').map((i) => i.attrs.node);
    expect(nodes).toContain('add');
    expect(nodes).toContain('unregister');
    transport.onStanza(iq('set', `${ALICE}/phone`, DOMAIN, x('command', { xmlns: COMMANDS, node: 'unregister' }), 'bye'));
    expect((await stream.next((el) => el.attrs.id === 'bye')).getChild('command')!.getChildText('note')).toMatch(/^Unregistered/);
    await waitUntil(() => !transport.isRegistered(ALICE), 5_000);
  });

  it('keeps an identity a user already has: key and certificate pasted into the registration form', async () => {
    const { stream, transport } = setup();
    const { key, cert } = selfSigned('alice-tlsd');
    const expected = new X509Certificate(cert).fingerprint256.replace(/:/g, '').toLowerCase();
    const form = x(
      'x',
      { xmlns: 'jabber:x:data', type: 'submit' },
      x('field', { var: 'FORM_TYPE', type: 'hidden' }, x('value', null, 'jabber:iq:register')),
      x('field', { var: 'key' }, ...key.trim().split('\n').map((l) => x('value', null, l))),
      x('field', { var: 'cert' }, ...cert.trim().split('\n').map((l) => x('value', null, l))),
    );
    transport.onStanza(iq('set', `${ALICE}/phone`, DOMAIN, x('query', { xmlns: 'jabber:iq:register' }, form), 'import'));
    expect((await stream.next((el) => el.attrs.id === 'import')).attrs.type).toBe('result');
    expect(transport.user(ALICE)!.network.selfInfo().fingerprint).toBe(expected);

    // A key without its certificate is refused with a reason, and nothing is registered.
    transport.onStanza(
      iq('set', `${BOB}/phone`, DOMAIN, x('query', { xmlns: 'jabber:iq:register' }, x('x', { xmlns: 'jabber:x:data', type: 'submit' }, x('field', { var: 'key' }, x('value', null, 'x')))), 'half'),
    );
    const refused = await stream.next((el) => el.attrs.id === 'half');
    expect(refused.getChild('error')!.getChild('not-acceptable')).toBeDefined();
    expect(transport.isRegistered(BOB)).toBe(false);
  });
});

describe('messages for an offline user', () => {
  it('wait in the store across a restart of the gateway and arrive, stamped, at the next login', async () => {
    const first = setup(undefined, { peerSession: 'always' });
    const fp = await register(first.transport, first.stream, ALICE);
    const a = await peer(peerA, fp);
    online(first.transport, ALICE);
    first.transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `add tlsim://${peerA.fingerprint}@${a.addr}`));
    await waitUntil(() => a.m.isOnline(fp), 15_000);
    first.transport.onStanza(x('presence', { type: 'unavailable', from: `${ALICE}/phone`, to: DOMAIN }));
    await first.transport.user(ALICE)!.idle();
    a.m.send(fp, 'kept on disk');
    await waitUntil(() => first.store.undelivered.countFor(first.registry.accounts()[0]!.id) === 1, 5_000);
    await first.transport.close();
    first.store.close();
    stores = stores.filter((s) => s !== first.store);

    const again = setup(first.dataDir, { peerSession: 'always' });
    await again.transport.open();
    online(again.transport, ALICE, 'laptop');
    const late = await again.stream.next((el) => body(el) === 'kept on disk');
    expect(to(ALICE)(late)).toBe(true);
    expect(late.attrs.from).toBe(`${peerA.fingerprint}@${DOMAIN}/tlsim`);
    expect(late.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Handed out once.
    expect(again.store.undelivered.countFor(again.registry.accounts()[0]!.id)).toBe(0);
  });
});

describe('robustness', () => {
  it('registers and listens elsewhere when another program holds the user\'s own port', async () => {
    const squatter = createServer();
    const port = await listenLocal(squatter);
    try {
      const { transport } = setup(undefined, { port });
      const r = await transport.register(ALICE);
      expect(r.created).toBe(true);
      expect(transport.user(ALICE)!.network.on).toBe(true);
      expect(r.share).toMatch(/^tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:\d+$/);
      expect(r.share!.endsWith(`:${port}`)).toBe(false);
    } finally {
      await closeServer(squatter);
    }
  });

  it('one user, one identity when registration is asked twice at once', async () => {
    const { transport, registry } = setup();
    const [a, b] = await Promise.all([transport.register(ALICE), transport.register(ALICE)]);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect((await registry.load(ALICE))!.identity.fingerprint).toBe(a.fingerprint);
    expect(registry.accounts()).toHaveLength(1);
  });

  it('writes rosters only for users of the server that granted it (XEP-0356), and answers a server\'s requests', async () => {
    const { stream, transport } = setup();
    await register(transport, stream, ALICE);
    online(transport, ALICE);
    const a = await peer(peerA, transport.user(ALICE)!.network.selfInfo().fingerprint);
    const privilege = (server: string, type: string) =>
      x('message', { from: server, to: DOMAIN }, x('privilege', { xmlns: 'urn:xmpp:privilege:2' }, x('perm', { access: 'roster', type })));
    // Another server's grant is about its own users, not Alice.
    transport.onStanza(privilege('evil.example', 'both'));
    transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `add tlsim://${peerA.fingerprint}@${a.addr} Anna`));
    const peerJid = `${peerA.fingerprint}@${DOMAIN}`;
    await stream.next((el) => el.attrs.type === 'subscribe' && from(peerJid)(el));
    transport.onStanza(privilege('example.org', 'both'));
    transport.onStanza(chat(`${ALICE}/phone`, DOMAIN, `rename Anna Annie`));
    const set = await stream.next((el) => el.name === 'iq' && el.attrs.type === 'set' && to(ALICE)(el));
    expect(set.getChild('query', 'jabber:iq:roster')!.getChild('item')!.attrs).toMatchObject({ jid: peerJid, name: 'Annie', subscription: 'both' });

    transport.onStanza(x('iq', { type: 'get', id: 'srv', from: 'example.org', to: DOMAIN }, x('query', { xmlns: 'jabber:iq:version' })));
    const answer = await stream.next((el) => el.attrs.id === 'srv');
    expect(answer.getChild('error')!.getChild('service-unavailable')).toBeDefined();
  });

  it(`refuses registrations beyond ${REGISTRATIONS_PER_MINUTE} a minute, with a reason`, async () => {
    let clock = 1_000 * 60_000;
    const { transport } = setup(undefined, { now: () => clock });
    const results = await Promise.allSettled(
      Array.from({ length: REGISTRATIONS_PER_MINUTE + 1 }, (_, i) => transport.register(`user${i}@example.org`)),
    );
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.reason)).toMatch(/too many registrations/);
    expect(transport.isRegistered(`user${REGISTRATIONS_PER_MINUTE}@example.org`)).toBe(false);
    // The next minute, registering works again.
    clock += 60_000;
    expect((await transport.register('late@example.org')).created).toBe(true);
  }, 60_000);
});
