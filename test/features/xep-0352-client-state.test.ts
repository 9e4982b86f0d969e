// Client State Indication (XEP-0352): an inactive client gets contact presence and typing only
// when it is active again (the latest per contact), messages with a body at once.
import { describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { CSI_MAX_HELD } from '../../gateway/xmpp/xep-0352-client-state.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { handledByClient, type TestGateway } from '../support/xmpp-harness.js';

const CSI = 'urn:xmpp:csi:0';
const CARBONS = 'urn:xmpp:carbons:2';
const CHATSTATES = 'http://jabber.org/protocol/chatstates';
const inactive = `<inactive xmlns='${CSI}'/>`;
const active = `<active xmlns='${CSI}'/>`;
const presenceFrom = (from: string) => (el: Element) => el.name === 'presence' && el.attrs.from === from;
const messageFrom = (from: string) => (el: Element) => el.name === 'message' && el.attrs.from === from;

describe('client state indication', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full } = gatewayPerTest((d) => ({ gw, fake } = d));

  it('holds contact presence while inactive and gives the latest one per contact on <active/>', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const bob = fake.addFakeContact({ name: 'Bob', online: false });
    const phone = await gw.login({ resource: 'phone' });
    await phone.next(presenceFrom(full(alice.id)));
    await phone.next(presenceFrom(full(bob.id)));
    phone.send(inactive);
    await phone.sync(); // the nonza is handled in order with the stream, before this ping's answer
    fake.setOnline(alice.id, false);
    fake.setOnline(alice.id, true);
    fake.setOnline(alice.id, false);
    fake.setOnline(bob.id, true);
    await phone.sync(); // iq results are never held
    await phone.expectNothing(300, (el) => el.name === 'presence');

    phone.send(active);
    const a = await phone.next(presenceFrom(full(alice.id)));
    expect(a.attrs.type).toBe('unavailable');
    expect((await phone.next(presenceFrom(full(bob.id)))).attrs.type).toBeUndefined();
    await phone.expectNothing(300, (el) => el.name === 'presence');
  });

  it('holds typing notifications (the last one per contact), never a message with a body, and keeps the order', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const bob = fake.addFakeContact({ name: 'Bob', online: true, gateway: true });
    const phone = await gw.login({ resource: 'phone' });
    await phone.next(presenceFrom(full(bob.id)));
    phone.send(inactive);
    await phone.sync(); // the nonza is handled in order with the stream: before this ping's answer
    fake.peerTypes(alice.id, 'composing');
    fake.peerTypes(alice.id, 'paused');
    fake.peerTypes(bob.id, 'composing');
    await phone.sync();
    await phone.expectNothing(300, (el) => el.name === 'message');

    // A message with a body goes out at once, after what was held (so the order is kept).
    fake.peerSays(bob.id, 'are you there?');
    const got = [await phone.next((el) => el.name === 'message'), await phone.next((el) => el.name === 'message'), await phone.next((el) => el.name === 'message')];
    expect(got.map((m) => [m.attrs.from, m.elements().map((e) => e.name).join(' ')]), got.join('\n')).toEqual([
      [full(alice.id), 'paused'],
      [full(bob.id), 'composing'],
      [full(bob.id), 'body stanza-id active'],
    ]);
    // Still inactive: typing waits again.
    fake.peerTypes(bob.id, 'composing');
    await phone.expectNothing(300, messageFrom(full(bob.id)));
    phone.send(active);
    expect((await phone.next(messageFrom(full(bob.id)))).getChild('composing', CHATSTATES)).toBeDefined();
  });

  it('holds carbons of typing but not of messages, and other resources are not affected', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const laptop = await gw.login({ resource: 'laptop', priority: 5 });
    const phone = await gw.login({ resource: 'phone', priority: 1 });
    await phone.iq(`<enable xmlns='${CARBONS}'/>`, { type: 'set' });
    phone.send(inactive);
    await phone.sync(); // the nonza is handled in order with the stream: before this ping's answer
    fake.peerTypes(alice.id, 'composing');
    await laptop.next(messageFrom(full(alice.id)));
    await phone.expectNothing(300, messageFrom(gw.userJid));
    fake.peerSays(alice.id, 'hi');
    const first = await phone.next(messageFrom(gw.userJid));
    const second = await phone.next(messageFrom(gw.userJid));
    const inner = (m: Element) => m.getChild('received', CARBONS)!.getChild('forwarded')!.getChild('message')!;
    expect(inner(first).getChild('composing', CHATSTATES)).toBeDefined();
    expect(inner(second).getChildText('body')).toBe('hi');
  });

  it('lets everything go once too many contacts wait', async () => {
    const peers = Array.from({ length: CSI_MAX_HELD + 1 }, (_, i) => fake.addFakeContact({ name: `p${i}`, online: false }));
    const phone = await gw.login({ resource: 'phone' });
    phone.send(inactive);
    await phone.sync();
    for (const p of peers.slice(0, -1)) fake.setOnline(p.id, true);
    await phone.expectNothing(300, (el) => el.name === 'presence' && el.attrs.type === undefined && el.attrs.from !== gw.domain);
    fake.setOnline(peers.at(-1)!.id, true);
    // Its available presence (the unavailable one from the login is there already).
    await phone.next((el) => presenceFrom(full(peers.at(-1)!.id))(el) && el.attrs.type === undefined);
    const shown = phone.received.filter((el) => el.name === 'presence' && el.attrs.type === undefined && el.attrs.from?.endsWith('/tlsim'));
    expect(shown).toHaveLength(CSI_MAX_HELD + 1);
  });

  it('a resumed stream starts active: what waited comes after the resent stanzas; CSI nonzas are not counted', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await gw.login({ resource: 'phone', sm: 'resume' });
    await phone.next(presenceFrom(full(alice.id)));
    phone.send(inactive);
    phone.send(active);
    phone.send(inactive);
    phone.send(`<r xmlns='urn:xmpp:sm:3'/>`);
    // Presence and the login's sync ping: 2 stanzas handled, the three nonzas not.
    expect((await phone.next((el) => el.name === 'a')).attrs.h).toBe('2');
    fake.setOnline(alice.id, false);
    await phone.expectNothing(300, presenceFrom(full(alice.id)));
    const h = handledByClient(phone);
    phone.kill();
    const { c, answer } = await gw.resume(phone.smId!, h);
    expect(answer.name).toBe('resumed');
    expect((await c.next(presenceFrom(full(alice.id)))).attrs.type).toBe('unavailable');
    fake.setOnline(alice.id, true);
    await c.next((el) => presenceFrom(full(alice.id))(el) && el.attrs.type === undefined);
  });

  it('closes the stream on an unknown CSI element', async () => {
    const phone = await gw.login();
    phone.send(`<sleepy xmlns='${CSI}'/>`);
    expect(await phone.closed).toEqual({ streamError: 'unsupported-stanza-type' });
  });
});
