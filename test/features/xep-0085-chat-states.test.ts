// Chat state dialogues (XEP-0085): typing goes both ways with a gateway contact; with a reference peer
// neither way, and a state never turns into a line of text on its link.
import { describe, expect, it, vi } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, loginOnline } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const CHATSTATES = 'http://jabber.org/protocol/chatstates';
const INFO = 'http://jabber.org/protocol/disco#info';
const hasState = (el: Element) => el.name === 'message' && el.elements().some((e) => e.getNS() === CHATSTATES);

describe('chat states', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full } = gatewayPerTest((d) => ({ gw, fake } = d));
  const online = () => loginOnline(gw);

  it('shows a gateway peer typing', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    fake.peerTypes(alice.id, 'composing');
    const msg = await me.next((el) => el.name === 'message' && !!el.getChild('composing', CHATSTATES));
    expect(msg.attrs).toMatchObject({ type: 'chat', from: full(alice.id) });
    expect(msg.getChild('body')).toBeUndefined();
  });

  it('passes the user\'s states on to a gateway contact, alone and with a message', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    me.send(`<message type='chat' to='${full(alice.id)}'><composing xmlns='${CHATSTATES}'/></message>`);
    me.send(`<message type='chat' to='${full(alice.id)}'><paused xmlns='${CHATSTATES}'/></message>`);
    me.send(`<message type='chat' to='${full(alice.id)}' id='a1'><body>done</body><active xmlns='${CHATSTATES}'/></message>`);
    await vi.waitFor(() => expect(fake.sent).toEqual([{ id: alice.id, text: 'done' }]));
    expect(fake.chatStates.map((s) => s.state)).toEqual(['composing', 'paused', 'active']);
  });

  it('never carries a state to a reference peer, and never as text', async () => {
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await online();
    for (const state of ['composing', 'paused', 'inactive', 'gone']) {
      me.send(`<message type='chat' to='${full(rex.id)}'><${state} xmlns='${CHATSTATES}'/></message>`);
    }
    me.send(`<message type='chat' to='${full(rex.id)}' id='r1'><body>only this</body><active xmlns='${CHATSTATES}'/></message>`);
    await me.sync();
    await vi.waitFor(() => expect(fake.sent).toEqual([{ id: rex.id, text: 'only this' }]));
    expect(fake.chatStates).toEqual([]);
    // Nothing came back either: no error for a state the peer cannot see.
    await me.expectNothing(300, (el) => el.name === 'message');
  });

  it('shows nothing of a reference peer as typing', async () => {
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await online();
    fake.peerTypes(rex.id, 'composing');
    await me.expectNothing(300, hasState);
  });

  it('is advertised by gateway contacts only', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await online();
    const featuresOf = async (jid: string) =>
      (await me.iq(`<query xmlns='${INFO}'/>`, { to: jid })).getChild('query', INFO)!.getChildren('feature').map((f) => f.attrs.var);
    expect(await featuresOf(full(alice.id))).toContain(CHATSTATES);
    expect(await featuresOf(full(rex.id))).not.toContain(CHATSTATES);
  });
});
