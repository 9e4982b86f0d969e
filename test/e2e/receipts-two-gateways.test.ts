// End to end: two real `tlsim-gateway run` processes (A and B), each user on slixmpp (its own
// xep_0184, xep_0333 and xep_0085 plugins). A receipt comes back to A's user only once B's client got
// the message; with B's client offline there is none until it logs in, then it comes; markers and
// typing go both ways. A reference peer (gnutls-serv) never produces a receipt, and never gets a
// state (or a receipt, or a marker) as a line of text.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixmppClient, type SlixEvent } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { cliHome, cliStatus, startCliGateway, type CliGateway } from './support/gateway.js';
import { gnutlsServ, type ListeningPeer } from './support/reference-peer.js';
import { GATEWAY, gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 300_000;
const W = 60_000;
const RECEIPTS = 'urn:xmpp:receipts';
const bare = (jid: string): string => jid.split('/')[0]!;

interopSuite('e2e: receipts, chat markers and typing between two gateways, and none with a reference peer', ['slixmpp', 'gnutls-serv'], () => {
  const homeA = cliHome('tlsim-e2e-rcpt-a');
  const homeB = cliHome('tlsim-e2e-rcpt-b');
  let gwA: CliGateway | undefined;
  let gwB: CliGateway | undefined;
  let alice: SlixmppClient | undefined;
  let bob: SlixmppClient | undefined;
  let rex: ListeningPeer | undefined;

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    // One after the other: two vite-node starts at once on a loaded machine can outlast `status --json`'s wait.
    gwA = await startCliGateway(homeA, portA);
    gwB = await startCliGateway(homeB, portB);
    alice = await connect(gwA);
  }, T);

  afterAll(async () => {
    await alice?.stop();
    await bob?.stop();
    await killAll();
    removeTmpDirs();
  });

  const connect = slixUser;
  const command = (c: SlixmppClient, text: string, re: RegExp) => gatewayCommand(c, text, re, W);

  const seesOnline = (c: SlixmppClient, jid: string, from: number) =>
    c.waitForEvent((e) => e.event === 'presence' && bare(e.from) === jid && e.type === 'available', W, from);
  const aliceClient = (): SlixmppClient => {
    if (!alice) throw new Error('A\'s client did not log in');
    return alice;
  };
  const receiptsFrom = (c: SlixmppClient, jid: string, from = 0) =>
    c.events.slice(from).filter((e): e is Extract<SlixEvent, { event: 'receipt' }> => e.event === 'receipt' && bare(e.from) === jid);

  const showOnFailure = (ctx: { onTestFailed(fn: () => void): void }): void =>
    ctx.onTestFailed(() => {
      console.error(`--- A (tail) ---${gwA?.proc.tails(6_000)}\n--- B (tail) ---${gwB?.proc.tails(6_000)}`);
      if (alice) console.error(`--- A's client ---\n${alice.recent(40)}`);
      if (bob) console.error(`--- B's client ---\n${bob.recent(40)}`);
      if (rex) console.error(`--- gnutls-serv ---${rex.proc.tails(3_000)}`);
    });

  it('receipts and markers only from the other user\'s client, late ones after its login; typing both ways', async (ctx) => {
    showOnFailure(ctx);
    const alice = aliceClient();
    const a = gwA!.status;
    const b = gwB!.status;
    const jidA = `${a.fingerprint}@${a.peerDomain}`;
    const jidB = `${b.fingerprint}@${b.peerDomain}`;
    // Bob's client answers receipts by hand at first, so the test decides when it "got" a message.
    bob = await connect(gwB!, { auto_receipts: false });

    // They add each other from their share strings, through the gateway contact.
    let from = alice.mark();
    await command(bob, `add ${a.share} Alice`, /^Added /);
    // B dials A at once: when that link is up first, A already has Bob as a request, and adding him accepts it ("Updated").
    await command(alice, `add ${b.share} Bob`, /^(Added|Updated) /);
    await seesOnline(alice, jidB, from);
    // Once the link says B is a gateway, Bob's contact advertises receipts, markers and chat states.
    await expect
      .poll(async () => (await alice!.discoInfo(`${jidB}/tlsim`)).features, { timeout: W, interval: 500 })
      .toEqual(expect.arrayContaining([RECEIPTS, 'urn:xmpp:chat-markers:0', 'http://jabber.org/protocol/chatstates']));

    // 1. A receipt only once B's client got the message, and only when that client says so.
    from = alice.mark();
    let bobFrom = bob.mark();
    await alice.send(jidB, 'do you read me?', { msg_id: 'a-1', receipt: true, markable: true });
    const got = await bob.nextMessage((m) => bare(m.from) === jidA && m.body === 'do you read me?', W, bobFrom);
    expect(got).toMatchObject({ receipt_request: true, markable: true, state: 'active' });
    // B's gateway has it and its client shows it, but that client has not answered: no receipt yet
    // (the acknowledgement between the gateways, which came before, is not one).
    await expect.poll(async () => (await cliStatus(homeA)).queued, { timeout: W, interval: 200 }).toBe(0);
    await alice.ping(GATEWAY);
    expect(receiptsFrom(alice, jidB, from)).toEqual([]);
    await bob.marker(got.from, got.id, 'receipt');
    expect(await alice.nextOf('receipt', (e) => bare(e.from) === jidB, W, from)).toMatchObject({ id: 'a-1' });
    // And the chat markers of that message: displayed, then acknowledged.
    await bob.marker(got.from, got.id, 'displayed');
    expect(await alice.nextOf('marker', (e) => bare(e.from) === jidB && e.marker === 'displayed', W, from)).toMatchObject({ id: 'a-1' });

    // The other way, with slixmpp answering by itself as Conversations or Gajim do.
    const bobSent = bob.mark();
    from = alice.mark();
    await bob.send(jidA, 'and you, me?', { msg_id: 'b-1', receipt: true });
    const toAlice = await alice.nextMessage((m) => bare(m.from) === jidB && m.body === 'and you, me?', W, from);
    expect(toAlice.receipt_request).toBe(true);
    expect(await bob.nextOf('receipt', (e) => bare(e.from) === jidA, W, bobSent)).toMatchObject({ id: 'b-1' });

    // 2. Typing shows on both sides.
    bobFrom = bob.mark();
    from = alice.mark();
    await alice.chatState(jidB, 'composing');
    expect(await bob.nextOf('chat_state', (e) => bare(e.from) === jidA && !e.body, W, bobFrom)).toMatchObject({ state: 'composing' });
    await bob.chatState(jidA, 'composing');
    expect(await alice.nextOf('chat_state', (e) => bare(e.from) === jidB && !e.body, W, from)).toMatchObject({ state: 'composing' });
    await bob.chatState(jidA, 'paused');
    expect(await alice.nextOf('chat_state', (e) => bare(e.from) === jidB && e.state === 'paused', W, from)).toBeDefined();

    // 3. B's client offline (its gateway stays up): the message reaches B's gateway, no receipt comes;
    //    when B's user logs in (slixmpp answering by itself now), the receipt does.
    // Logged out (a closed stream: a dropped one would stay resumable and hold the message meanwhile).
    await bob.disconnect();
    await bob.stop();
    bob = undefined;
    from = alice.mark();
    await alice.send(jidB, 'for when you are back', { msg_id: 'a-2', receipt: true });
    await expect.poll(async () => (await cliStatus(homeA)).queued, { timeout: W, interval: 200 }).toBe(0);
    await alice.ping(GATEWAY);
    expect(receiptsFrom(alice, jidB, from)).toEqual([]);
    bob = await connect(gwB!);
    const late = await bob.nextMessage((m) => bare(m.from) === jidA && m.body === 'for when you are back', W);
    expect(late.delay).not.toBeNull();
    expect(late.receipt_request).toBe(true);
    expect(await alice.nextOf('receipt', (e) => bare(e.from) === jidB, W, from)).toMatchObject({ id: 'a-2' });
    expect(receiptsFrom(alice, jidB, from)).toHaveLength(1);
  }, T);

  it('a reference peer (gnutls-serv) never produces a receipt or a marker, and never gets a state as a line of text', async (ctx) => {
    showOnFailure(ctx);
    const alice = aliceClient();
    const a = gwA!.status;
    // gnutls-serv: the closest stand-in for the reference daemon, echoing lines.
    const id = await makeOpensslIdentity(tmpDir('rex'));
    rex = await gnutlsServ(id);
    const jidR = `${id.fingerprint}@${a.peerDomain}`;
    let from = alice.mark();
    await command(alice, `add tlsim://${id.fingerprint}@127.0.0.1:${rex.port} Rex`, /^Added /);
    await seesOnline(alice, jidR, from);
    const rexInfo = await alice.discoInfo(`${jidR}/tlsim`);
    for (const f of [RECEIPTS, 'urn:xmpp:chat-markers:0', 'http://jabber.org/protocol/chatstates']) expect(rexInfo.features).not.toContain(f);

    from = alice.mark();
    await alice.chatState(jidR, 'composing');
    await alice.send(jidR, 'hello Rex', { msg_id: 'r-1', receipt: true, markable: true, state: 'active' });
    await alice.chatState(jidR, 'paused');
    await alice.chatState(jidR, 'gone');
    const echoed = await alice.nextMessage((m) => bare(m.from) === jidR && m.body === 'hello Rex', W, from);
    // Its lines come back plain: nothing asked of Alice's client, no state claimed.
    expect(echoed).toMatchObject({ receipt_request: false, markable: false, state: null });
    // Alice's client marks Rex's message displayed and acknowledges it: nothing of that goes to Rex either.
    await alice.marker(echoed.from, echoed.id, 'displayed');
    await alice.marker(echoed.from, echoed.id, 'receipt');
    // A last line: everything Alice's client sent before it has been through both gateways' hands.
    await alice.send(jidR, 'last line', { msg_id: 'r-2', receipt: true });
    await alice.nextMessage((m) => bare(m.from) === jidR && m.body === 'last line', W, from);
    expect(receiptsFrom(alice, jidR, from)).toEqual([]);
    expect(alice.events.slice(from).filter((e) => (e.event === 'marker' || e.event === 'chat_state') && bare(e.from) === jidR)).toEqual([]);
    // What gnutls-serv got (it prints "received cmd: <line>" for each): exactly the two lines of text,
    // no state, receipt or marker turned into one.
    const lines = [...rex.proc.output().matchAll(/^received cmd: (.*)$/gm)].map((m) => m[1]!.trim());
    expect(lines, rex.proc.output()).toEqual(['hello Rex', 'last line']);
  }, T);
});
