// Chat marker dialogues (XEP-0333): <markable/> and received/displayed/acknowledged both ways with a
// gateway contact, each only as the other gateway reported it; nothing with a reference peer.
import { describe, expect, it, vi } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, loginOnline } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const MARKERS = 'urn:xmpp:chat-markers:0';
const RECEIPTS = 'urn:xmpp:receipts';
const markerFrom = (from: string, name: string) => (el: Element) => el.name === 'message' && el.attrs.from === from && !!el.getChild(name, MARKERS);

describe('chat markers', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full } = gatewayPerTest((d) => ({ gw, fake } = d));
  const online = () => loginOnline(gw);

  it('marks the user\'s message markable, and shows each marker the peer\'s client sent', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    me.send(`<message type='chat' to='${full(alice.id)}' id='k1'><body>read me</body><markable xmlns='${MARKERS}'/></message>`);
    await vi.waitFor(() =>
      expect(fake.sendOptions).toContainEqual({ id: alice.id, text: 'read me', opts: expect.objectContaining({ xmppId: 'k1', markable: true }) }),
    );
    expect(fake.sendOptions[0]!.opts.receipt).toBeUndefined();
    await me.expectNothing(300, (el) => el.name === 'message' && el.attrs.from === full(alice.id));

    for (const marker of ['received', 'displayed', 'acknowledged'] as const) {
      fake.peerMarks(alice.id, marker, 'k1');
      const m = await me.next(markerFrom(full(alice.id), marker));
      expect(m.getChild(marker, MARKERS)!.attrs.id).toBe('k1');
      expect(m.getChild('body')).toBeUndefined();
    }
    // A marker is not a receipt: the receipt feature shows nothing for it.
    expect(me.received.filter((el) => el.getChild('received', RECEIPTS))).toEqual([]);
  });

  it('hands a markable message to the client under the sending gateway\'s id, and its markers back', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    fake.peerSays(alice.id, 'tell me when you read it', { id: 'gw-a-3', requests: { markable: true, receipt: true } });
    const msg = await me.next((el) => el.getChildText('body') === 'tell me when you read it');
    expect(msg.attrs.id).toBe('gw-a-3');
    expect(msg.getChild('markable', MARKERS)).toBeDefined();
    expect(msg.getChild('request', RECEIPTS)).toBeDefined();

    // Conversations answers with a receipt and a received marker in one message, then displayed.
    me.send(`<message to='${full(alice.id)}'><received xmlns='${RECEIPTS}' id='gw-a-3'/><received xmlns='${MARKERS}' id='gw-a-3'/></message>`);
    me.send(`<message type='chat' to='${full(alice.id)}'><displayed xmlns='${MARKERS}' id='gw-a-3'/></message>`);
    me.send(`<message type='chat' to='${full(alice.id)}'><acknowledged xmlns='${MARKERS}' id='gw-a-3'/></message>`);
    await vi.waitFor(() =>
      expect(fake.markers).toEqual([
        { id: alice.id, marker: 'receipt', msgId: 'gw-a-3' },
        { id: alice.id, marker: 'received', msgId: 'gw-a-3' },
        { id: alice.id, marker: 'displayed', msgId: 'gw-a-3' },
        { id: alice.id, marker: 'acknowledged', msgId: 'gw-a-3' },
      ]),
    );
    expect(fake.sent).toEqual([]);
  });

  it('passes no marker on for a message without a marker id', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    me.send(`<message type='chat' to='${full(alice.id)}'><displayed xmlns='${MARKERS}'/></message>`);
    await me.sync();
    expect(fake.markers).toEqual([]);
  });

  it('has nothing to mark with a reference peer, either way', async () => {
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await online();
    fake.peerSays(rex.id, 'plain');
    const msg = await me.next((el) => el.getChildText('body') === 'plain');
    expect(msg.getChild('markable', MARKERS)).toBeUndefined();
    me.send(`<message type='chat' to='${full(rex.id)}'><displayed xmlns='${MARKERS}' id='${msg.attrs.id}'/></message>`);
    await me.sync();
    expect(fake.markers).toEqual([]);
    expect(fake.sent).toEqual([]);
    fake.peerMarks(rex.id, 'displayed', 'whatever');
    await me.expectNothing(300, markerFrom(full(rex.id), 'displayed'));
  });

  it('keeps a marker that comes while the user is offline, for the next login', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const first = await online();
    await first.close();
    fake.peerMarks(alice.id, 'displayed', 'k9');
    const me = await gw.login();
    const m = await me.next(markerFrom(full(alice.id), 'displayed'));
    expect(m.getChild('displayed', MARKERS)!.attrs.id).toBe('k9');
  });
});
