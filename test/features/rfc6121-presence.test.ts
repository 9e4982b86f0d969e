// Presence dialogues: contacts at login, peers coming and going, probes, friend requests (RFC 6121 §3, §4).
import { describe, expect, it, vi } from 'vitest';
import { randomPeerId, type FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, isRosterPush as isPush, ROSTER } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const CAPS = 'http://jabber.org/protocol/caps';
const NICK = 'http://jabber.org/protocol/nick';
const presenceFrom = (jid: string, type?: string) => (el: Element) =>
  el.name === 'presence' && el.attrs.from === jid && el.attrs.type === type;

describe('presence', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full, bare } = gatewayPerTest((d) => ({ gw, fake } = d));

  it('shows every contact at initial presence, online ones with caps and no status', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const bob = fake.addFakeContact({ name: 'Bob' });
    // COMPAT(dino): initial presence comes before any roster get; the presences come anyway.
    const me = await gw.login();

    const a = await me.next(presenceFrom(full(alice.id)));
    const c = a.getChild('c', CAPS)!;
    expect(c.attrs).toMatchObject({ hash: 'sha-1', node: expect.any(String), ver: expect.any(String) });
    expect(a.getChild('status')).toBeUndefined();
    await me.next(presenceFrom(full(bob.id), 'unavailable'));
    await me.next(presenceFrom(gw.domain));
  });

  it('pushes a peer coming online and going offline at once', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    await me.next(presenceFrom(full(alice.id), 'unavailable'));

    fake.setOnline(alice.id, true);
    expect((await me.next(presenceFrom(full(alice.id)))).getChild('c', CAPS)).toBeDefined();
    fake.setOnline(alice.id, false);
    await me.next(presenceFrom(full(alice.id), 'unavailable'));
  });

  it('sends nothing to a session that has not sent initial presence yet', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    const me = await gw.login({ presence: false });
    fake.setOnline(alice.id, true);
    await me.expectNothing(300, (el) => el.name === 'presence');
  });

  it('answers probes from state, and for the gateway contact with available', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await gw.login({ presence: false });
    me.send(`<presence type='probe' to='${bare(alice.id)}'/>`);
    await me.next(presenceFrom(full(alice.id)));
    me.send(`<presence type='probe' to='${gw.domain}'/>`);
    await me.next(presenceFrom(gw.domain));
    me.send(`<presence type='probe' to='${bare(randomPeerId())}'/>`);
    await me.next((el) => el.name === 'presence' && el.attrs.type === 'unsubscribed');
  });

  it('shows a request from an unknown peer with its nick, again at the next login, until accepted', async () => {
    const me = await gw.login();
    const id = randomPeerId();
    fake.requestFrom(id, 'Carol');
    const req = await me.next(presenceFrom(bare(id), 'subscribe'));
    expect(req.getChildText('nick', NICK)).toBe('Carol');

    const later = await gw.login({ resource: 'laptop' });
    await later.next(presenceFrom(bare(id), 'subscribe'));

    later.send(`<presence type='subscribed' to='${bare(id)}'/>`);
    await vi.waitFor(() => expect(fake.getContact(id)?.state).toBe('contact'));
    const push = await later.next(isPush);
    expect(push.getChild('query', ROSTER)!.getChild('item')!.attrs).toMatchObject({ jid: bare(id), subscription: 'both' });
    // The peer is online (it asked over a live link): its presence follows.
    await later.next(presenceFrom(full(id)));

    const third = await gw.login({ resource: 'phone' });
    await third.expectNothing(300, presenceFrom(bare(id), 'subscribe'));
  });

  it('denies a request when the user answers unsubscribed', async () => {
    const me = await gw.login();
    const id = randomPeerId();
    fake.requestFrom(id, 'Spam');
    await me.next(presenceFrom(bare(id), 'subscribe'));
    me.send(`<presence type='unsubscribed' to='${bare(id)}'/>`);
    await vi.waitFor(() => expect(fake.getContact(id)).toBeUndefined());
  });

  it('adds a peer the user subscribes to, and approves at once', async () => {
    const me = await gw.login();
    const id = randomPeerId();
    me.send(`<presence type='subscribe' to='${bare(id)}'><nick xmlns='${NICK}'>Dora</nick></presence>`);
    await me.next(presenceFrom(bare(id), 'subscribed'));
    expect(fake.getContact(id)).toMatchObject({ state: 'contact', name: 'Dora' });
    await me.next(isPush);
  });

  it('removes a contact the user unsubscribes from', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    me.send(`<presence type='unsubscribe' to='${bare(alice.id)}'/>`);
    await vi.waitFor(() => expect(fake.getContact(alice.id)).toBeUndefined());
  });

  it('ignores the user\'s presence to the gateway contact', async () => {
    const me = await gw.login();
    me.send(`<presence to='${gw.domain}'><show>away</show></presence>`);
    await me.expectNothing(300, (el) => el.attrs.type === 'error');
  });
});
