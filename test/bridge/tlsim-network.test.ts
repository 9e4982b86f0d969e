// The bridge over real tlsim links: two gateways' networks (each with its own store and
// identity) add each other, hold a stranger's messages until accepted, queue for an offline
// peer across a restart, and warn about a wrong fingerprint at a known address.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect as tlsConnect } from 'node:tls';
import { GATEWAY_ALPN, encodeFrame, generateIdentity, type Identity } from '../../bridge-protocol/index.js';
import { removeTmpDirs } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { stopTlsimGateway as shutdown, stopTlsimGateways, tlsimGateway as gateway, type TlsimGateway as Gw } from '../support/tlsim-gateways.js';

let alice: Identity;
let bob: Identity;
let mallory: Identity;

beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
});
afterEach(async () => {
  await stopTlsimGateways();
});
afterAll(() => removeTmpDirs());

describe('TlsimNetwork', () => {
  it('shows an unknown peer as a request, keeps its messages, and delivers them once accepted', async () => {
    const a = await gateway(alice);
    const b = await gateway(bob, { policy: 'ask' });
    await a.net.addContact(bob.fingerprint, { name: 'Bob', address: `127.0.0.1:${b.port}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    await b.sink.until(() => b.sink.requests.includes(alice.fingerprint), 'bob sees a request');

    expect(await a.net.sendText(bob.fingerprint, 'hello bob')).toMatchObject({ status: 'sent', stanzaId: expect.any(String) });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.sink.texts).toEqual([]); // held, not shown to bob before he accepts

    await b.net.answerRequest(alice.fingerprint, true);
    expect(b.sink.texts.map((t) => t.text)).toEqual(['hello bob']);
    expect(b.sink.texts[0]!.stamp).toBeInstanceOf(Date);
    expect(b.net.getContact(alice.fingerprint)).toMatchObject({ state: 'contact', online: true });

    await b.net.sendText(alice.fingerprint, 'hi alice\nsecond line');
    await a.sink.until(() => a.sink.texts.length === 1, 'alice gets the reply');
    expect(a.sink.texts[0]!.text).toBe('hi alice\nsecond line');

    // XEP-0359: each side hands a message over with the id its archive holds it under (the held one too).
    const [held] = b.store.archive.recent(b.store.accounts.list()[0]!.id, alice.fingerprint).filter((e) => e.direction === 'in');
    expect(b.sink.texts[0]!.stanzaId).toBe(held!.stanzaId);
    const inA = a.store.archive.recent(a.store.accounts.list()[0]!.id, bob.fingerprint).filter((e) => e.direction === 'in');
    expect(inA.map((e) => [e.text, e.stanzaId])).toEqual([['hi alice\nsecond line', a.sink.texts[0]!.stanzaId]]);
  });

  it('queues messages for an offline peer, survives a restart of both sides, and delivers in order once', async () => {
    const bobPort = await freePort();
    const a = await gateway(alice);
    await a.net.addContact(bob.fingerprint, { name: 'Bob', address: `127.0.0.1:${bobPort}` });
    const out1 = await a.net.sendText(bob.fingerprint, 'one');
    expect(out1.status).toBe('queued');
    await a.net.sendText(bob.fingerprint, 'two');
    expect(a.net.selfInfo().queued).toBe(2);

    // Alice's gateway restarts with the same store: the queue is still there.
    const aliceDir = a.dir;
    await shutdown(a);
    const a2 = await gateway(alice, { dir: aliceDir });
    expect(a2.net.selfInfo().queued).toBe(2);

    const b = await gateway(bob, { policy: 'accept', port: bobPort });
    await b.sink.until(() => b.sink.texts.length >= 2, 'bob receives the queue');
    await a2.net.sendText(bob.fingerprint, 'three');
    await b.sink.until(() => b.sink.texts.length >= 3, 'bob receives the third');
    expect(b.sink.texts.map((t) => t.text)).toEqual(['one', 'two', 'three']);
    // A message leaves the queue once Bob's gateway acknowledged it: a round trip after he has it.
    await a2.sink.until(() => a2.net.selfInfo().queued === 0, 'the queue empties');
  });

  it('a message a client sends again with the same origin-id (a failed stream resumption) is kept and delivered once; the same text with a new origin-id is a new message', async () => {
    const bobPort = await freePort();
    const a = await gateway(alice);
    await a.net.addContact(bob.fingerprint, { name: 'Bob', address: `127.0.0.1:${bobPort}` });
    const first = await a.net.sendText(bob.fingerprint, 'are you there?', { xmppId: 'm1', originId: 'origin-1' });
    const again = await a.net.sendText(bob.fingerprint, 'are you there?', { xmppId: 'm1', originId: 'origin-1' });
    expect(again).toMatchObject({ status: 'queued', stanzaId: first.stanzaId, reason: expect.stringContaining('kept already') });
    await a.net.sendText(bob.fingerprint, 'are you there?', { xmppId: 'm2', originId: 'origin-2' });
    expect(a.net.selfInfo().queued).toBe(2);
    const b = await gateway(bob, { policy: 'accept', port: bobPort });
    await b.sink.until(() => b.sink.texts.length >= 2, 'bob receives the queue');
    await a.sink.until(() => a.net.selfInfo().queued === 0, 'the queue empties');
    // Sent again once the first is delivered: still once at Bob's.
    expect((await a.net.sendText(bob.fingerprint, 'are you there?', { xmppId: 'm1', originId: 'origin-1' })).stanzaId).toBe(first.stanzaId);
    await a.net.sendText(bob.fingerprint, 'last', { originId: 'origin-3' });
    await b.sink.until(() => b.sink.texts.some((t) => t.text === 'last'), 'bob receives the last');
    expect(b.sink.texts.map((t) => t.text)).toEqual(['are you there?', 'are you there?', 'last']);
  });

  it('sends a burst without waiting for each write: every message arrives once, in order, and leaves the queue', async () => {
    const a = await gateway(alice);
    const b = await gateway(bob, { policy: 'accept' });
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    const n = 500;
    // Like the XMPP stream: each sendText is awaited, but it returns once the message is queued on disk.
    for (let i = 0; i < n; i++) expect(await a.net.sendText(bob.fingerprint, `m${i}`)).toMatchObject({ status: 'sent', stanzaId: expect.any(String) });
    await b.sink.until(() => b.sink.texts.length >= n, 'bob receives the burst');
    // One message each, not runs of them joined into one multi-line message.
    expect(b.sink.texts.map((t) => t.text)).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    await a.sink.until(() => a.net.selfInfo().queued === 0, 'the queue empties');
  });

  it('a link that goes down mid-burst leaves the unwritten messages queued; they go out in order on the next link', async () => {
    const a = await gateway(alice);
    let b = await gateway(bob, { policy: 'accept' });
    const bobDir = b.dir;
    const bobPort = b.port;
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${bobPort}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    const n = 2_000;
    for (let i = 0; i < n; i++) await a.net.sendText(bob.fingerprint, `m${i} ${'x'.repeat(200)}`);
    const first = b.sink.texts;
    await shutdown(b); // mid-burst: most of it is still queued or in flight
    b = await gateway(bob, { policy: 'accept', dir: bobDir, port: bobPort });
    await b.sink.until(() => b.sink.texts.some((t) => t.text.startsWith(`m${n - 1} `)), 'bob receives the last one', 30_000);
    await a.sink.until(() => a.net.selfInfo().queued === 0, 'the queue empties');
    const seq = (texts: typeof first) => texts.map((t) => Number(t.text.slice(1, t.text.indexOf(' '))));
    // Each link carried a contiguous, ordered run; the second one ends with the last message.
    for (const run of [seq(first), seq(b.sink.texts)]) expect(run).toEqual(run.map((_, i) => run[0]! + i));
    expect(seq(b.sink.texts).at(-1)).toBe(n - 1);
  }, 60_000);

  it('refuses blocked peers at the TLS layer and keeps them out', async () => {
    const a = await gateway(alice);
    const b = await gateway(bob, { policy: 'ask' });
    await b.net.block(alice.fingerprint);
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(a.sink.online.has(bob.fingerprint)).toBe(false);
    expect(b.sink.requests).toEqual([]);
    expect(b.net.listBlocked()).toEqual([alice.fingerprint]);
  });

  it('a message the store cannot keep is refused with a reason the user can read (not internal-server-error), and nothing half-kept', async () => {
    const a = await gateway(alice, { limits: { maxQueuedPerPeer: 1 } });
    // Nobody listens there: the peer stays offline and the message stays queued.
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${await freePort()}` });
    expect((await a.net.sendText(bob.fingerprint, 'first')).status).toBe('queued');
    const err = await a.net.sendText(bob.fingerprint, 'second').catch((e: unknown) => e);
    expect(err).toMatchObject({ condition: 'resource-constraint', type: 'wait' });
    expect((err as Error & { text: string }).text).toMatch(/^not kept: 1 messages already wait for this peer/);
    // The refused message is neither queued nor in the history.
    expect(a.store.outbox.countFor(a.store.accounts.ensure('me@localhost'), bob.fingerprint)).toBe(1);
    expect(a.store.archive.recent(a.store.accounts.ensure('me@localhost'), bob.fingerprint).map((m) => m.text)).toEqual(['first']);
  });

  it('tells the user, with both fingerprints, when another identity answers at a known address', async () => {
    const a = await gateway(alice);
    const m = await gateway(mallory, { policy: 'accept' });
    await a.net.addContact(bob.fingerprint, { name: 'Bob', address: `127.0.0.1:${m.port}` });
    await a.sink.until(() => a.sink.notices.some((n) => n.includes('fingerprint')), 'a mismatch notice');
    const notice = a.sink.notices.find((n) => n.includes('fingerprint'))!;
    expect(notice).toContain(bob.fingerprint);
    expect(notice).toContain(mallory.fingerprint);
    expect(a.sink.online.has(bob.fingerprint)).toBe(false);
    expect(m.sink.texts).toEqual([]);
  });
});

describe('TlsimNetwork between two gateways (x-tlsim-gateway/3)', () => {
  async function linked(): Promise<{ a: Gw; b: Gw }> {
    const a = await gateway(alice);
    const b = await gateway(bob, { policy: 'accept' });
    await a.net.addContact(bob.fingerprint, { name: 'Bob', address: `127.0.0.1:${b.port}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    await b.sink.until(() => b.sink.online.has(alice.fingerprint), 'bob sees alice online');
    return { a, b };
  }

  it("a message carries its id and requests; bob's receipt and displayed marker come back naming alice's own id", async () => {
    const { a, b } = await linked();
    await a.net.sendText(bob.fingerprint, 'hello with a receipt', { xmppId: 'alice-1', receipt: true, markable: true });
    await b.sink.until(() => b.sink.texts.length === 1, 'bob gets it');
    const got = b.sink.texts[0]!;
    expect(got).toMatchObject({ text: 'hello with a receipt', requests: { receipt: true, markable: true } });
    expect(got.id).toMatch(/^[0-9a-f-]{36}$/);
    // The link id is the gateway's, not the XMPP id: alice's client's ids never leave her gateway.
    expect(got.id).not.toBe('alice-1');

    b.net.sendMarker(alice.fingerprint, 'receipt', got.id!);
    b.net.sendMarker(alice.fingerprint, 'displayed', got.id!);
    await a.sink.until(() => a.sink.markers.length === 2, 'alice gets both markers');
    expect(a.sink.markers).toEqual([
      { id: bob.fingerprint, marker: 'receipt', xmppId: 'alice-1' },
      { id: bob.fingerprint, marker: 'displayed', xmppId: 'alice-1' },
    ]);
    // Both sides know the other is a gateway: caps and receipts can be offered; the XMPP side was told.
    expect(a.net.getContact(bob.fingerprint)?.gateway).toBe(true);
    expect(b.net.getContact(alice.fingerprint)?.gateway).toBe(true);
    expect(a.sink.changed.filter((c) => c.id === bob.fingerprint).map((c) => c.gateway)).toEqual([false, true]);
    expect(b.sink.changed.filter((c) => c.id === alice.fingerprint).at(-1)?.gateway).toBe(true);
    await b.sink.until(() => b.store.markers.peek(b.store.accounts.ensure('me@localhost'), alice.fingerprint).length === 0, 'bob keeps no marker once acknowledged');
  });

  it("a stranger gateway's held messages keep their id and requests until accepted; the receipt then reaches its sender", async () => {
    const a = await gateway(alice);
    const b = await gateway(bob, { policy: 'ask' });
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await b.sink.until(() => b.sink.requests.includes(alice.fingerprint), 'bob sees a request');
    await a.net.sendText(bob.fingerprint, 'may I?', { xmppId: 'ask-1', receipt: true });
    const bAcct = b.store.accounts.ensure('me@localhost');
    await b.sink.until(() => b.store.held.countFor(bAcct, alice.fingerprint) === 1, 'bob holds it');
    await b.net.answerRequest(alice.fingerprint, true);
    expect(b.sink.texts).toMatchObject([{ text: 'may I?', requests: { receipt: true } }]);
    b.net.sendMarker(alice.fingerprint, 'receipt', b.sink.texts[0]!.id!);
    await a.sink.until(() => a.sink.markers.length === 1, 'alice gets the receipt');
    expect(a.sink.markers).toEqual([{ id: bob.fingerprint, marker: 'receipt', xmppId: 'ask-1' }]);
  });

  it('a message without requests arrives with an id and no requests', async () => {
    const { a, b } = await linked();
    await a.net.sendText(bob.fingerprint, 'plain one');
    await b.sink.until(() => b.sink.texts.length === 1, 'bob gets it');
    expect(b.sink.texts[0]!.requests).toBeUndefined();
    expect(b.sink.texts[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('chat states go over the link while it is up, and are dropped (never queued) while it is down', async () => {
    const { a, b } = await linked();
    a.net.sendChatState(bob.fingerprint, 'composing');
    await b.sink.until(() => b.sink.states.length === 1, 'bob sees alice typing');
    expect(b.sink.states).toEqual([{ id: alice.fingerprint, state: 'composing' }]);
    await a.net.sendText(bob.fingerprint, 'done typing');
    a.net.sendChatState(bob.fingerprint, 'active');
    await b.sink.until(() => b.sink.states.length === 2, 'bob sees alice active');
    // In order with the message.
    expect(b.sink.texts.map((t) => t.text)).toEqual(['done typing']);

    const bobDir = b.dir;
    const bobPort = b.port;
    await shutdown(b);
    await a.sink.until(() => !a.sink.online.has(bob.fingerprint), 'alice sees bob offline');
    a.net.sendChatState(bob.fingerprint, 'paused');
    await a.net.sendText(bob.fingerprint, 'while you were away');
    const b2 = await gateway(bob, { policy: 'accept', dir: bobDir, port: bobPort });
    await b2.sink.until(() => b2.sink.texts.length === 1, 'bob gets the queued message');
    await a.sink.until(() => a.net.selfInfo().queued === 0, 'the queue empties');
    expect(b2.sink.states).toEqual([]);
  });

  it('a marker sent while the link is down is kept across a restart and reaches alice, named by her id, once the link is back', async () => {
    const { a, b } = await linked();
    await a.net.sendText(bob.fingerprint, 'read me later', { xmppId: 'alice-late', markable: true });
    await b.sink.until(() => b.sink.texts.length === 1, 'bob gets it');
    const msgId = b.sink.texts[0]!.id!;
    const aliceDir = a.dir;
    const alicePort = a.port;
    await shutdown(a);
    await b.sink.until(() => !b.sink.online.has(alice.fingerprint), 'bob sees alice offline');
    // Contact.gateway is remembered while alice is offline, so bob's client is still offered markers.
    expect(b.net.getContact(alice.fingerprint)).toMatchObject({ online: false, gateway: true });
    b.net.sendMarker(alice.fingerprint, 'displayed', msgId);
    const bAcct = b.store.accounts.ensure('me@localhost');
    expect(b.store.markers.peek(bAcct, alice.fingerprint).map((m) => [m.marker, m.msgId])).toEqual([['displayed', msgId]]);

    // Bob's gateway restarts too: the marker is on disk.
    const bobDir = b.dir;
    const bobPort = b.port;
    await shutdown(b);
    const b2 = await gateway(bob, { policy: 'accept', dir: bobDir, port: bobPort });
    expect(b2.net.getContact(alice.fingerprint)).toMatchObject({ online: false, gateway: true });
    // Alice comes back (her store kept the link id with her message): she dials bob, as a contact with an address.
    const a2 = await gateway(alice, { dir: aliceDir, port: alicePort });
    await a2.sink.until(() => a2.sink.markers.length === 1, 'alice gets the marker');
    expect(a2.sink.markers).toEqual([{ id: bob.fingerprint, marker: 'displayed', xmppId: 'alice-late' }]);
    await b2.sink.until(() => b2.store.markers.peek(bAcct, alice.fingerprint).length === 0, 'bob no longer keeps it');
  });
});

describe('TlsimNetwork receiving from a gateway/3 peer (a bare TLS client speaking the frames)', () => {
  /** Dials `gw` as `id` offering /3, writes `frames` (one TLS record each), waits for their acknowledgements. */
  async function dialAndWrite(gw: Gw, id: Identity, frames: Buffer[]): Promise<void> {
    const s = tlsConnect({ host: '127.0.0.1', port: gw.port, key: id.keyPem, cert: id.certPem, rejectUnauthorized: false, ALPNProtocols: [GATEWAY_ALPN] });
    s.on('error', () => {});
    await new Promise((r) => s.once('secureConnect', r));
    expect(s.alpnProtocol).toBe(GATEWAY_ALPN);
    let acks = 0;
    s.on('data', (c: Buffer) => (acks += c.filter((b) => b === 0xfe).length));
    for (const f of frames) await new Promise<void>((resolve, reject) => s.write(f, (e) => (e ? reject(e) : resolve())));
    const lfs = frames.reduce((n, f) => n + f.filter((b) => b === 0x0a).length, 0);
    await gw.sink.until(() => acks === lfs, 'every frame acknowledged');
    s.destroy();
    await gw.sink.until(() => !gw.sink.online.has(id.fingerprint), 'the peer offline');
  }

  it('a message sent again with the same id (its acknowledgement was lost) is shown once, also on a later link', async () => {
    const a = await gateway(alice, { policy: 'accept' });
    const msg = (id: string, text: string) => encodeFrame({ type: 'message', id, text });
    await dialAndWrite(a, mallory, [msg('dup-1', 'once'), msg('dup-1', 'once'), msg('dup-2', 'twice?')]);
    expect(a.sink.texts.map((t) => [t.id, t.text])).toEqual([['dup-1', 'once'], ['dup-2', 'twice?']]);
    // Again on a later link; and twice in one TLS record (one loop turn, before the archive is written).
    await dialAndWrite(a, mallory, [msg('dup-2', 'twice?'), Buffer.concat([msg('dup-3', 'new'), msg('dup-3', 'new')])]);
    expect(a.sink.texts.map((t) => t.id)).toEqual(['dup-1', 'dup-2', 'dup-3']);
    expect(a.net.getContact(mallory.fingerprint)?.gateway).toBe(true);
  });
});
