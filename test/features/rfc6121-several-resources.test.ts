// Several clients of one user at once (RFC 6121 §8.5.2 routing, §4.2.2/§4.4.2/§4.5.2 the user's
// own presence): the phone, the laptop and Pidgin logged in as resources of me@localhost.
import { describe, expect, it, vi } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import type { TestClient, TestGateway } from '../support/xmpp-harness.js';

const chatFrom = (from: string, body?: string) => (el: Element) =>
  el.name === 'message' && el.attrs.from === from && el.getChild('body') !== undefined && (body === undefined || el.getChildText('body') === body);
const presenceFrom = (from: string, type?: string) => (el: Element) => el.name === 'presence' && el.attrs.from === from && el.attrs.type === type;

describe('several resources of one user', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full, bare } = gatewayPerTest((d) => ({ gw, fake } = d));
  const me = (resource: string) => `${gw.userJid}/${resource}`;

  it('a peer\'s message goes to the resource with the highest priority only', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await gw.login({ resource: 'phone', priority: 10 });
    const laptop = await gw.login({ resource: 'laptop', priority: 5 });
    fake.peerSays(alice.id, 'for the phone');
    expect((await phone.next(chatFrom(full(alice.id)))).getChildText('body')).toBe('for the phone');
    await laptop.expectNothing(300, chatFrom(full(alice.id)));
  });

  it('resources with the same top priority all get it; a lower one does not', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await gw.login({ resource: 'phone', priority: 5 });
    const laptop = await gw.login({ resource: 'laptop', priority: 5 });
    const tablet = await gw.login({ resource: 'tablet', priority: 1 });
    fake.peerSays(alice.id, 'for both');
    await phone.next(chatFrom(full(alice.id), 'for both'));
    await laptop.next(chatFrom(full(alice.id), 'for both'));
    await tablet.expectNothing(300, chatFrom(full(alice.id)));
  });

  it('no priority counts as 0, and a new presence with a higher priority takes the messages over', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const pidgin = await gw.login({ resource: 'pidgin', priority: 1 });
    const slix = await gw.login({ resource: 'slix' });
    fake.peerSays(alice.id, 'one');
    await pidgin.next(chatFrom(full(alice.id), 'one'));
    slix.send('<presence><show>chat</show><priority>2</priority></presence>');
    await slix.sync();
    fake.peerSays(alice.id, 'two');
    await slix.next(chatFrom(full(alice.id), 'two'));
    await pidgin.expectNothing(300, chatFrom(full(alice.id), 'two'));
  });

  it('a negative priority never gets messages for the bare JID, nor the stored ones; contacts\' presence it does get', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: false });
    const bot = await gw.login({ resource: 'bot', priority: -1 });
    fake.setOnline(alice.id, true);
    await bot.next(presenceFrom(full(alice.id)));
    // The only available resource is negative: the message waits as if the user were offline.
    fake.peerSays(alice.id, 'kept for later');
    await bot.expectNothing(300, chatFrom(full(alice.id)));
    const laptop = await gw.login({ resource: 'laptop', priority: 0 });
    expect((await laptop.next(chatFrom(full(alice.id)))).getChildText('body')).toBe('kept for later');
    fake.peerSays(alice.id, 'now');
    await laptop.next(chatFrom(full(alice.id), 'now'));
    await bot.expectNothing(300, chatFrom(full(alice.id)));
    // A message to its full JID still reaches it.
    bot.send(`<message type='chat' to='${gw.domain}'><body>help</body></message>`);
    await bot.next(chatFrom(gw.domain));
  });

  it('"not sent yet" goes to the device that wrote, whatever the priorities', async () => {
    const bob = fake.addFakeContact({ name: 'Bob', online: false });
    const phone = await gw.login({ resource: 'phone', priority: 10 });
    const laptop = await gw.login({ resource: 'laptop', priority: 1 });
    laptop.send(`<message type='chat' to='${bare(bob.id)}'><body>are you up?</body></message>`);
    expect((await laptop.next(chatFrom(gw.domain))).getChildText('body')).toContain('Bob is offline');
    await phone.expectNothing(300, chatFrom(gw.domain));
  });

  it('contacts\' presence changes reach every available resource, whatever its priority', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const clients = [await gw.login({ resource: 'a', priority: 3 }), await gw.login({ resource: 'b', priority: 0 }), await gw.login({ resource: 'c', priority: -5 })];
    fake.setOnline(alice.id, false);
    for (const c of clients) await c.next(presenceFrom(full(alice.id), 'unavailable'));
  });

  it('each resource sees the others come, change and go, and its own presence back', async () => {
    const laptop = await gw.login({ resource: 'laptop', priority: 5 });
    await laptop.next(presenceFrom(me('laptop')));
    const phone = await gw.login({ resource: 'phone', priority: 1 });
    // The newcomer learns who is there, and everyone (the newcomer too) sees it arrive.
    const seen = await phone.next(presenceFrom(me('laptop')));
    expect(seen.getChildText('priority')).toBe('5');
    expect(seen.attrs.to).toBe(me('phone'));
    await phone.next(presenceFrom(me('phone')));
    expect((await laptop.next(presenceFrom(me('phone')))).getChildText('priority')).toBe('1');

    phone.send(`<presence><show>away</show><status>in a pocket</status><priority>1</priority></presence>`);
    const update = await laptop.next(presenceFrom(me('phone')));
    expect(update.getChildText('show')).toBe('away');
    expect(update.getChildText('status')).toBe('in a pocket');

    await phone.close();
    await laptop.next(presenceFrom(me('phone'), 'unavailable'));
  });

  it('an explicit unavailable presence goes to the others, and a resource without presence sees nobody', async () => {
    const laptop = await gw.login({ resource: 'laptop' });
    const quiet: TestClient = await gw.login({ resource: 'quiet', presence: false });
    const phone = await gw.login({ resource: 'phone' });
    await laptop.next(presenceFrom(me('phone')));
    phone.send(`<presence type='unavailable'/>`);
    await laptop.next(presenceFrom(me('phone'), 'unavailable'));
    await phone.expectNothing(300, presenceFrom(me('phone'), 'unavailable'));
    await quiet.sync();
    expect(quiet.received.filter((el) => el.name === 'presence' && el.attrs.from?.startsWith(gw.userJid))).toEqual([]);
  });

  it('roster pushes reach every resource', async () => {
    const one = await gw.login({ resource: 'one', priority: 1 });
    const two = await gw.login({ resource: 'two', priority: -1 });
    const alice = fake.addFakeContact({ name: 'Alice' });
    await fake.renameContact(alice.id, 'Alice Liddell');
    for (const c of [one, two]) {
      await vi.waitFor(() => expect(c.received.some((el) => el.name === 'iq' && el.attrs.type === 'set' && el.toString().includes('Alice Liddell'))).toBe(true));
    }
  });
});
