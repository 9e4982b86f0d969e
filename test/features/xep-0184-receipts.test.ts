// Delivery receipt dialogues (XEP-0184): a receipt reaches the user only when the other gateway says its
// user's client got the message; a reference peer never produces one; one that comes while the user is
// offline waits for the next login.
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { MARKERS_KEPT_LIMIT } from '../../gateway/features/support/message-meta.js';
import { OFFLINE_LIMIT } from '../../gateway/xmpp/offline-box.js';
import { features } from '../../gateway/features/index.js';
import { probeFeature } from '../support/core-features.js';
import { gatewayPerTest, loginOnline } from '../support/feature-dialogue.js';
import { startTestGateway, type TestClient, type TestGateway } from '../support/xmpp-harness.js';

const RECEIPTS = 'urn:xmpp:receipts';
const DELAY = 'urn:xmpp:delay';
const receiptFrom = (from: string) => (el: Element) => el.name === 'message' && el.attrs.from === from && !!el.getChild('received', RECEIPTS);

describe('receipts', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full } = gatewayPerTest((d) => ({ gw, fake } = d));
  const online = () => loginOnline(gw);
  const sendAsking = (me: TestClient, to: string, id: string, body: string) =>
    me.send(`<message type='chat' to='${to}' id='${id}'><body>${body}</body><request xmlns='${RECEIPTS}'/></message>`);

  it('asks a gateway peer, and shows the receipt only once its user\'s client got the message', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    sendAsking(me, full(alice.id), 'm1', 'did you get this?');
    await vi.waitFor(() =>
      expect(fake.sendOptions).toContainEqual({ id: alice.id, text: 'did you get this?', opts: expect.objectContaining({ xmppId: 'm1', receipt: true }) }),
    );
    // Sent on the link (and acknowledged by the other gateway) is not received by its user's client.
    await me.expectNothing(300, receiptFrom(full(alice.id)));

    fake.peerMarks(alice.id, 'receipt', 'm1');
    const r = await me.next(receiptFrom(full(alice.id)));
    expect(r.getChild('received', RECEIPTS)!.attrs.id).toBe('m1');
    expect(r.getChild('body')).toBeUndefined();
    expect(r.getChild('delay', DELAY)).toBeUndefined();
  });

  it('hands a gateway peer\'s request to the client under the sending gateway\'s id, and its receipt back', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    fake.peerSays(alice.id, 'ping me back', { id: 'gw-a-17', requests: { receipt: true } });
    const msg = await me.next((el) => el.name === 'message' && el.getChildText('body') === 'ping me back');
    expect(msg.attrs.id).toBe('gw-a-17');
    expect(msg.getChild('request', RECEIPTS)).toBeDefined();

    me.send(`<message to='${full(alice.id)}' id='ack1'><received xmlns='${RECEIPTS}' id='gw-a-17'/></message>`);
    await vi.waitFor(() => expect(fake.markers).toEqual([{ id: alice.id, marker: 'receipt', msgId: 'gw-a-17' }]));
    // A receipt is not a message: nothing went out as text.
    expect(fake.sent).toEqual([]);
  });

  it('asks nothing for a message the peer did not ask about, or one without an id', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    fake.peerSays(alice.id, 'just saying', { id: 'gw-a-18' });
    expect((await me.next((el) => el.getChildText('body') === 'just saying')).getChild('request', RECEIPTS)).toBeUndefined();
    // Without an id nobody could name the message in a receipt.
    me.send(`<message type='chat' to='${full(alice.id)}'><body>no id</body><request xmlns='${RECEIPTS}'/></message>`);
    await vi.waitFor(() => expect(fake.sendOptions.map((s) => s.text)).toEqual(['no id']));
    expect(fake.sendOptions[0]!.opts.receipt).toBeUndefined();
  });

  it('never produces or passes on a receipt for a reference peer', async () => {
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await online();
    sendAsking(me, full(rex.id), 'r1', 'hello Rex');
    await vi.waitFor(() => expect(fake.sent).toEqual([{ id: rex.id, text: 'hello Rex' }]));
    // Even a network that claimed one would not be believed: Rex's program cannot say it got anything.
    fake.peerMarks(rex.id, 'receipt', 'r1');
    await me.expectNothing(400, receiptFrom(full(rex.id)));
    // And the user's client's receipts never go to Rex's link.
    me.send(`<message to='${full(rex.id)}'><received xmlns='${RECEIPTS}' id='x'/></message>`);
    await me.sync();
    expect(fake.markers).toEqual([]);
    expect(fake.sent).toEqual([{ id: rex.id, text: 'hello Rex' }]);
  });

  it('keeps a receipt that comes while the user is offline, and shows it at the next login', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', gateway: true });
    const me = await online();
    sendAsking(me, full(alice.id), 'late1', 'for when you are back');
    // Alice is offline: the message waits in the queue, the user is told.
    await me.next((el) => el.attrs.from === gw.domain && /Not sent yet/.test(el.getChildText('body') ?? ''));
    await me.close();

    // Alice's gateway comes, gets the message; her client gets it and answers while our user is away.
    fake.setOnline(alice.id, true);
    await vi.waitFor(() => expect(fake.sent).toEqual([{ id: alice.id, text: 'for when you are back' }]));
    fake.peerMarks(alice.id, 'receipt', 'late1');

    const again = await gw.login();
    const r = await again.next(receiptFrom(full(alice.id)));
    expect(r.getChild('received', RECEIPTS)!.attrs.id).toBe('late1');
    expect(r.getChild('delay', DELAY)!.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Handed out once.
    const third = await gw.login({ resource: 'third' });
    await third.expectNothing(300, receiptFrom(full(alice.id)));
  });

  it('keeps at most MARKERS_KEPT_LIMIT receipts per absence, so a flood never pushes waiting messages out', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const first = await online();
    await first.close();
    const waiting = OFFLINE_LIMIT - MARKERS_KEPT_LIMIT;
    for (let i = 0; i < waiting; i++) fake.peerSays(alice.id, `message ${i}`);
    for (let i = 0; i < MARKERS_KEPT_LIMIT + 50; i++) fake.peerMarks(alice.id, 'receipt', `r${i}`);

    const me = await gw.login();
    await me.next((el) => el.getChildText('body') === `message ${waiting - 1}`);
    await me.sync();
    const bodies = me.received.filter((el) => el.name === 'message' && el.attrs.from === full(alice.id) && el.getChild('body'));
    expect(bodies.map((el) => el.getChildText('body'))).toEqual(Array.from({ length: waiting }, (_, i) => `message ${i}`));
    const kept = me.received.filter(receiptFrom(full(alice.id))).map((el) => el.getChild('received', RECEIPTS)!.attrs.id);
    expect(kept).toEqual(Array.from({ length: MARKERS_KEPT_LIMIT }, (_, i) => `r${i}`));
    // No notice of dropped messages: none were.
    expect(me.received.filter((el) => /dropped/.test(el.getChildText('body') ?? ''))).toEqual([]);
  });

  it('keeps a receipt its client never acknowledged (XEP-0198) before the session ended, for the next login', async () => {
    await gw.stop();
    const probe = probeFeature();
    // A gateway of its own (a short resume window), stopped here: gatewayPerTest stops only its own.
    gw = await startTestGateway({ server: { smResumeTimeoutMs: 200 }, features: [...features, probe.feature] });
    onTestFinished(() => gw.stop());
    fake = gw.fake!;
    const closed: string[] = [];
    probe.ctx().on('session-closed', (session) => closed.push(session.jid.resource));
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const phone = await gw.login({ sm: 'resume', resource: 'phone' });
    await phone.next((el) => el.name === 'presence' && el.attrs.from === gw.domain);
    phone.kill(); // the network went away: no <a/> for what follows
    fake.peerMarks(alice.id, 'receipt', 'p1');
    // The resume window ends with the receipt unacknowledged and nobody else online.
    await expect.poll(() => closed, { timeout: 10_000 }).toEqual(['phone']);
    const me = await gw.login();
    const r = await me.next(receiptFrom(full(alice.id)));
    expect(r.getChild('received', RECEIPTS)!.attrs.id).toBe('p1');
    expect(r.getChild('delay', DELAY)).toBeDefined();
  });
});
