// slixmpp (a real Python XMPP client) against our gateway: SCRAM-SHA-1/-256 over STARTTLS
// verified against the gateway's CA, chat with a fake peer, ping, disco, and XEP-0198
// resumption after the TCP connection drops; delay stamps on what waited, and the gateway's ad-hoc commands;
// receipts, chat markers and chat states (its xep_0184, xep_0333, xep_0085) with gateway and reference contacts.
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { SlixmppClient, type ConnectCommand } from '../../clients/slixmpp/driver.js';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

/** Real programs under load: generous, never a timed assertion. */
const T = 120_000;
const W = 30_000;
const bare = (jid: string): string => jid.split('/')[0]!;

interopSuite('slixmpp against the gateway', ['slixmpp'], () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const clients: SlixmppClient[] = [];

  beforeEach(async () => {
    gw = await startTestGateway({ tcp: true });
    fake = gw.fake!;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await gw?.stop();
  });

  afterAll(async () => {
    await killAll();
  });

  async function login(opts: Partial<ConnectCommand> = {}) {
    const c = await SlixmppClient.start();
    clients.push(c);
    const session = await c.connect({
      jid: gw.userJid,
      password: gw.password,
      host: '127.0.0.1',
      port: gw.c2sPort!,
      ca_file: gw.tls.caCertFile,
      ...opts,
    });
    return { c, session };
  }

  it('logs in with SCRAM-SHA-1 over STARTTLS, verifying the certificate against the gateway CA', async () => {
    const { c, session } = await login({ mechanism: 'SCRAM-SHA-1' });
    expect(session.mechanism).toBe('SCRAM-SHA-1');
    expect(session.jid.startsWith(`${gw.userJid}/`)).toBe(true);
    expect(c.events.some((e) => e.event === 'tls')).toBe(true);
    const auth = c.events.find((e) => e.event === 'auth');
    expect(auth).toMatchObject({ mechanism: 'SCRAM-SHA-1' });
  }, T);

  it('logs in with SCRAM-SHA-256 over STARTTLS', async () => {
    const { session } = await login({ mechanism: 'SCRAM-SHA-256' });
    expect(session.mechanism).toBe('SCRAM-SHA-256');
  }, T);

  it('is refused with a wrong password', async () => {
    const c = await SlixmppClient.start();
    clients.push(c);
    await expect(
      c.connect({ jid: gw.userJid, password: `${gw.password}-wrong`, port: gw.c2sPort!, ca_file: gw.tls.caCertFile, mechanism: 'SCRAM-SHA-256' }),
    ).rejects.toThrow(/failed_auth|failed_all_auth/);
  }, T);

  it('sees contacts in the roster with their names, and chats with an echoing contact', async () => {
    const echo = fake.addFakeContact({ name: 'Echo Peer', online: true, echo: true });
    const { c } = await login();
    const echoJid = `${echo.id}@${gw.peerDomain}`;
    const roster = await c.roster();
    expect(roster.items).toContainEqual(expect.objectContaining({ jid: echoJid, name: 'Echo Peer' }));

    const from = c.mark();
    await c.send(echoJid, 'hello, echo');
    const reply = await c.nextMessage((m) => m.from.split('/')[0] === echoJid, 30_000, from);
    expect(reply.body).toContain('hello, echo');
    expect(fake.sent).toContainEqual({ id: echo.id, text: 'hello, echo' });

    const said = c.mark();
    fake.peerSays(echo.id, 'unprompted hello');
    expect((await c.nextMessage((m) => m.body === 'unprompted hello', 30_000, said)).from.split('/')[0]).toBe(echoJid);
  }, T);

  it('pings the gateway and reads its disco#info', async () => {
    const { c } = await login();
    expect(await c.ping(gw.domain)).toMatchObject({ type: 'result' });
    const info = await c.discoInfo(gw.domain);
    expect(info.from).toBe(gw.domain);
    expect(info.identities).toContainEqual(expect.objectContaining({ category: 'server', type: 'im' }));
    expect(info.features).toEqual(expect.arrayContaining(['http://jabber.org/protocol/disco#info', 'urn:xmpp:ping']));
  }, T);

  it('resumes the stream after the TCP connection drops and loses no message sent meanwhile', async () => {
    const peer = fake.addFakeContact({ name: 'Chatty', online: true });
    const peerJid = `${peer.id}@${gw.peerDomain}`;
    const { c } = await login();
    await c.waitForEvent((e) => e.event === 'sm_enabled' && e.resume === true, 30_000);
    // One message before the drop, acknowledged the normal way.
    const before = c.mark();
    fake.peerSays(peer.id, 'before the drop');
    await c.nextMessage((m) => m.body === 'before the drop', 30_000, before);

    const from = c.mark();
    await c.request({ cmd: 'drop_tcp' });
    await c.waitForEvent((e) => e.event === 'disconnected', 30_000, from);
    fake.peerSays(peer.id, 'while down 1');
    fake.peerSays(peer.id, 'while down 2');
    await c.request({ cmd: 'reconnect' });
    const outcome = await c.waitForEvent((e) => e.event === 'resumed' || e.event === 'sm_failed' || e.event === 'session_start', 60_000, from);
    expect(outcome.event, `resumption failed: ${JSON.stringify(outcome)}`).toBe('resumed');
    const m1 = await c.nextMessage((m) => m.body === 'while down 1', 30_000, from);
    const m2 = await c.nextMessage((m) => m.body === 'while down 2', 30_000, from);
    expect(m1.from.split('/')[0]).toBe(peerJid);
    expect(c.events.indexOf(m1)).toBeLessThan(c.events.indexOf(m2));
    // And the resumed stream still works both ways.
    await c.send(peerJid, 'after resumption');
    await expect.poll(() => fake.sent.some((s) => s.id === peer.id && s.text === 'after resumption'), { timeout: 30_000 }).toBe(true);
  }, T);

  // Delay stamps (XEP-0203) and ad-hoc commands (XEP-0050) through the driver's own commands.


  it('sees the delay stamps of messages kept while the user was offline, and none on live ones', async () => {
    const peer = fake.addFakeContact({ name: 'Early', online: true });
    const peerJid = `${peer.id}@${gw.peerDomain}`;
    fake.peerSays(peer.id, 'kept, stamped by the gateway');
    fake.peerSays(peer.id, 'kept, stamped by the peer', { stamp: new Date('2024-05-06T07:08:09Z') });
    const c = (await login()).c;
    const kept = await c.nextMessage((m) => m.body === 'kept, stamped by the gateway', W);
    expect(bare(kept.from)).toBe(peerJid);
    expect(kept.delay).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect((await c.nextMessage((m) => m.body === 'kept, stamped by the peer', W)).delay).toBe('2024-05-06T07:08:09.000Z');
    const from = c.mark();
    fake.peerSays(peer.id, 'live');
    expect((await c.nextMessage((m) => m.body === 'live', W, from)).delay).toBeNull();
  }, T);

  it("lists and runs the gateway's ad-hoc commands, one-step and with a form", async () => {
    const peer = fake.addFakeContact({ name: 'Before', online: true });
    const c = (await login()).c;
    const list = await c.adHocList(gw.domain);
    expect(list.items.map((i) => i.node)).toEqual(expect.arrayContaining(['add', 'list', 'rename']));

    const listed = await c.adHoc(gw.domain, 'list');
    expect(listed).toMatchObject({ node: 'list', status: 'completed', steps: 1 });
    expect(listed.notes[0]!.text).toContain('Before');

    const renamed = await c.adHoc(gw.domain, 'rename', { contact: peer.id, name: 'After' });
    expect(renamed).toMatchObject({ node: 'rename', status: 'completed', steps: 2 });
    expect(renamed.notes[0]!.type).toBe('info');
    expect(fake.getContact(peer.id)?.name).toBe('After');
  }, T);

  it('answers a gateway peer\'s receipt request with its own plugin, and sees receipts, markers and typing only from it', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const aliceJid = `${alice.id}@${gw.peerDomain}`;
    const rexJid = `${rex.id}@${gw.peerDomain}`;
    const { c } = await login();
    // What slixmpp's disco sees: only the gateway contact does receipts, markers and chat states.
    const gatewayInfo = await c.discoInfo(`${aliceJid}/tlsim`);
    expect(gatewayInfo.features).toEqual(expect.arrayContaining(['urn:xmpp:receipts', 'urn:xmpp:chat-markers:0', 'http://jabber.org/protocol/chatstates']));
    const referenceInfo = await c.discoInfo(`${rexJid}/tlsim`);
    expect(referenceInfo.features).not.toContain('urn:xmpp:receipts');

    // A peer's message asking for a receipt: slixmpp's xep_0184 answers it, the network is told.
    let from = c.mark();
    fake.peerSays(alice.id, 'got it?', { id: 'gw-1', requests: { receipt: true, markable: true } });
    const got = await c.nextMessage((m) => m.body === 'got it?', W, from);
    expect(got).toMatchObject({ id: 'gw-1', receipt_request: true, markable: true, state: 'active' });
    await expect.poll(() => fake.markers, { timeout: W }).toContainEqual({ id: alice.id, marker: 'receipt', msgId: 'gw-1' });
    await c.marker(`${aliceJid}/tlsim`, 'gw-1', 'displayed');
    await expect.poll(() => fake.markers, { timeout: W }).toContainEqual({ id: alice.id, marker: 'displayed', msgId: 'gw-1' });

    // Our message asks for both; the answers come only when the network reports them.
    from = c.mark();
    await c.send(aliceJid, 'and you?', { msg_id: 's-1', receipt: true, markable: true });
    await expect.poll(() => fake.sendOptions.find((o) => o.text === 'and you?')?.opts, { timeout: W }).toMatchObject({
      xmppId: 's-1',
      receipt: true,
      markable: true,
    });
    fake.peerMarks(alice.id, 'receipt', 's-1');
    fake.peerMarks(alice.id, 'displayed', 's-1');
    expect(await c.nextOf('receipt', () => true, W, from)).toMatchObject({ from: `${aliceJid}/tlsim`, id: 's-1' });
    expect(await c.nextOf('marker', () => true, W, from)).toMatchObject({ marker: 'displayed', id: 's-1' });

    // Typing both ways with the gateway contact, never to the reference one.
    await c.chatState(aliceJid, 'composing');
    await c.chatState(rexJid, 'composing');
    await expect.poll(() => fake.chatStates, { timeout: W }).toContainEqual({ id: alice.id, state: 'composing' });
    fake.peerTypes(alice.id, 'paused');
    expect(await c.nextOf('chat_state', (e) => !e.body, W, from)).toMatchObject({ from: `${aliceJid}/tlsim`, state: 'paused' });

    // The reference peer: its message asks nothing and has no state; a receipt request gets no receipt.
    from = c.mark();
    fake.peerSays(rex.id, 'plain line');
    expect(await c.nextMessage((m) => m.body === 'plain line', W, from)).toMatchObject({ receipt_request: false, markable: false, state: null });
    await c.send(rexJid, 'hello Rex', { msg_id: 'r-1', receipt: true });
    await expect.poll(() => fake.sent.some((s) => s.id === rex.id && s.text === 'hello Rex'), { timeout: W }).toBe(true);
    await c.ping(gw.domain);
    expect(fake.chatStates.filter((s) => s.id === rex.id)).toEqual([]);
    expect(fake.markers.filter((m) => m.id === rex.id)).toEqual([]);
    expect(c.events.slice(from).filter((e) => e.event === 'receipt')).toEqual([]);
  }, T);

  // The modern client baseline (XEP-0479): roster versioning, PEP, avatars, bookmarks, through slixmpp's own plugins.

  it('uses roster versioning: the feature is offered, a current version gets an empty result, a change a new one', async () => {
    fake.addFakeContact({ name: 'Versioned' });
    const c = (await login({ pep: true })).c;
    const full = await c.request({ cmd: 'roster_ver', ver: '' });
    expect(full).toMatchObject({ advertised: true, query: true });
    expect(full.items.map((i) => i.name)).toContain('Versioned');
    expect(await c.request({ cmd: 'roster_ver', ver: full.ver! })).toMatchObject({ query: false, items: [] });
    fake.addFakeContact({ name: 'Newcomer' });
    const changed = await c.request({ cmd: 'roster_ver', ver: full.ver! });
    expect(changed.ver).not.toBe(full.ver);
    expect(changed.items.map((i) => i.name)).toEqual(expect.arrayContaining(['Versioned', 'Newcomer']));
  }, T);

  it('publishes to PEP with publish-options (xep_0060), notifies the client that wants the node, retrieves and retracts', async () => {
    const TUNE = 'http://jabber.org/protocol/tune';
    const listener = (await login({ pep: true, notify: [TUNE] })).c;
    const publisher = (await login({ pep: true })).c;
    const from = listener.mark();
    const published = await publisher.request({
      cmd: 'pep_publish',
      node: TUNE,
      item_id: 'now',
      payload: `<tune xmlns='${TUNE}'><artist>Satie</artist></tune>`,
      options: { 'pubsub#max_items': '2', 'pubsub#access_model': 'presence' },
    });
    expect(published.item_id).toBe('now');
    const ev = await listener.nextPepEvent(TUNE, (e) => e.kind === 'publish', W, from);
    expect(ev.item_id).toBe('now');
    expect(ev.xml).toContain('Satie');

    await publisher.request({ cmd: 'pep_publish', node: TUNE, item_id: 'next', payload: `<tune xmlns='${TUNE}'><artist>Ravel</artist></tune>` });
    const latest = await listener.request({ cmd: 'pep_items', node: TUNE, max: 1 });
    expect(latest.items.map((i) => i.item_id)).toEqual(['next']);
    await expect(
      publisher.request({ cmd: 'pep_publish', node: TUNE, payload: `<tune xmlns='${TUNE}'/>`, options: { 'pubsub#access_model': 'whitelist' } }),
    ).rejects.toThrow(/conflict/);
    const retracted = listener.mark();
    await publisher.request({ cmd: 'pep_retract', node: TUNE, item_id: 'now', notify: true });
    expect((await listener.nextPepEvent(TUNE, (e) => e.kind === 'retract', W, retracted)).item_id).toBe('now');
    expect((await listener.request({ cmd: 'pep_items', node: TUNE })).items.map((i) => i.item_id)).toEqual(['next']);
  }, T);

  it('sets an avatar with xep_0084: the other client hears of the metadata and fetches the data', async () => {
    const other = (await login({ pep: true })).c;
    const phone = (await login({ pep: true })).c;
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const from = other.mark();
    const { item_id: id } = await phone.request({ cmd: 'avatar_publish', data: png, type: 'image/png', width: 1, height: 1 });
    const ev = await other.nextPepEvent('urn:xmpp:avatar:metadata', (e) => e.item_id === id, W, from);
    expect(ev.xml).toContain('image/png');
    const data = await other.request({ cmd: 'pep_items', node: 'urn:xmpp:avatar:data', ids: [id] });
    expect(data.items[0]!.xml).toContain(png);
  }, T);

  it('keeps one list of bookmarks: written to private storage, read from PEP, and back (xep_0048)', async () => {
    const c = (await login({ pep: true })).c;
    const tea = { jid: 'tea@muc.example.org', name: 'Tea', autojoin: true, nick: 'me' };
    await c.request({ cmd: 'bookmarks_set', method: 'xep_0049', conferences: [tea] });
    expect((await c.request({ cmd: 'bookmarks_get', method: 'xep_0223' })).conferences).toEqual([tea]);
    const native = await c.request({ cmd: 'pep_items', node: 'urn:xmpp:bookmarks:1' });
    expect(native.items.map((i) => i.item_id)).toEqual([tea.jid]);

    const chess = { jid: 'chess@muc.example.org', name: 'Chess', autojoin: false, nick: 'knight' };
    await c.request({ cmd: 'bookmarks_set', method: 'xep_0223', conferences: [chess] });
    expect((await c.request({ cmd: 'bookmarks_get', method: 'xep_0049' })).conferences).toEqual([chess]);
  }, T);
});
