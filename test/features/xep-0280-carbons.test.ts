// Message Carbons (XEP-0280): every carbons-enabled resource sees what reached another one and
// what another one sent; <private/>, <no-copy/>, eligibility, disabling and SM resumption.
import { describe, expect, it, vi } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { features as defaultFeatures } from '../../gateway/features/index.js';
import type { Feature } from '../../gateway/xmpp/feature.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { handledByClient, type LoginOptions, type TestClient, type TestGateway } from '../support/xmpp-harness.js';

const CARBONS = 'urn:xmpp:carbons:2';
const FORWARD = 'urn:xmpp:forward:0';
const CHATSTATES = 'http://jabber.org/protocol/chatstates';
const RECEIPTS = 'urn:xmpp:receipts';
const SM = 'urn:xmpp:sm:3';

/** The message a carbon carries, when `el` is a carbon of that direction. */
const carried = (el: Element, direction: 'received' | 'sent') => el.getChild(direction, CARBONS)?.getChild('forwarded', FORWARD)?.getChild('message');
const isCarbon = (direction: 'received' | 'sent', body?: string) => (el: Element) => {
  const inner = el.name === 'message' ? carried(el, direction) : undefined;
  return inner !== undefined && (body === undefined || inner.getChildText('body') === body);
};
const anyCarbon = (el: Element) => isCarbon('received')(el) || isCarbon('sent')(el);
const chatFrom = (from: string, body?: string) => (el: Element) =>
  el.name === 'message' && el.attrs.from === from && el.getChild('body') !== undefined && (body === undefined || el.getChildText('body') === body);

/** Logs in and enables carbons. */
async function loginWithCarbons(gw: TestGateway, opts: LoginOptions): Promise<TestClient> {
  const c = await gw.login(opts);
  const answer = await c.iq(`<enable xmlns='${CARBONS}'/>`, { type: 'set' });
  expect(answer.attrs.type).toBe('result');
  return c;
}

/** A message handler for contacts that records what reaches it (instead of the messages feature). */
const seenByHandler: Element[] = [];
const recorder: Feature = {
  name: 'recorder',
  setup(ctx) {
    ctx.message('contact', (req) => void seenByHandler.push(req.stanza));
  },
};

describe('message carbons', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full, bare } = gatewayPerTest((d) => ({ gw, fake } = d));
  const me = (resource: string) => `${gw.userJid}/${resource}`;
  const withCarbons = (opts: LoginOptions) => loginWithCarbons(gw, opts);

  it('is announced by the server', async () => {
    const c = await gw.login();
    const info = await c.iq(`<query xmlns='http://jabber.org/protocol/disco#info'/>`, { to: gw.domain });
    const vars = info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var);
    expect(vars).toContain(CARBONS);
  });

  it('is enabled by an iq to the account or to the server, and refuses other payloads', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await gw.login({ resource: 'phone', priority: 10 });
    const laptop = await gw.login({ resource: 'laptop', priority: 1 });
    const tablet = await gw.login({ resource: 'tablet', priority: 1 });
    expect((await laptop.iq(`<enable xmlns='${CARBONS}'/>`, { type: 'set', to: gw.userJid })).attrs.type).toBe('result');
    expect((await tablet.iq(`<enable xmlns='${CARBONS}'/>`, { type: 'set', to: gw.domain })).attrs.type).toBe('result');
    expect((await phone.iq(`<enable xmlns='${CARBONS}'/>`, { type: 'get' })).attrs.type).toBe('error');
    fake.peerSays(alice.id, 'copied twice');
    await phone.next(chatFrom(full(alice.id), 'copied twice'));
    await laptop.next(isCarbon('received', 'copied twice'));
    await tablet.next(isCarbon('received', 'copied twice'));
  });

  it('a peer\'s message to the phone shows on the laptop as received, from the user\'s bare JID', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await withCarbons({ resource: 'phone', priority: 10 });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    fake.peerSays(alice.id, 'hello phone');
    const direct = await phone.next(chatFrom(full(alice.id), 'hello phone'));
    const carbon = await laptop.next(isCarbon('received', 'hello phone'));
    expect(carbon.attrs).toMatchObject({ from: gw.userJid, to: me('laptop'), type: 'chat' });
    const inner = carried(carbon, 'received')!;
    expect(inner.attrs).toMatchObject({ xmlns: 'jabber:client', from: full(alice.id), id: direct.attrs.id });
    // Neither a second copy on the phone nor the message itself on the laptop.
    await phone.expectNothing(300, anyCarbon);
    await laptop.expectNothing(0, chatFrom(full(alice.id)));
  });

  it('resources that got the message itself (same priority) get no carbon of it', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const a = await withCarbons({ resource: 'a', priority: 1 });
    const b = await withCarbons({ resource: 'b', priority: 1 });
    fake.peerSays(alice.id, 'to both');
    await a.next(chatFrom(full(alice.id), 'to both'));
    await b.next(chatFrom(full(alice.id), 'to both'));
    await a.expectNothing(300, anyCarbon);
    await b.expectNothing(0, anyCarbon);
  });

  it('a message sent on the laptop shows on the phone as sent, and reaches the peer once', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await withCarbons({ resource: 'phone', priority: 10 });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    laptop.send(`<message type='chat' to='${bare(alice.id)}' id='l1'><body>from the laptop</body><active xmlns='${CHATSTATES}'/></message>`);
    const carbon = await phone.next(isCarbon('sent', 'from the laptop'));
    expect(carbon.attrs).toMatchObject({ from: gw.userJid, to: me('phone'), type: 'chat' });
    expect(carried(carbon, 'sent')!.attrs).toMatchObject({ from: me('laptop'), to: bare(alice.id), id: 'l1' });
    await laptop.expectNothing(300, anyCarbon);
    expect(fake.sent).toEqual([{ id: alice.id, text: 'from the laptop' }]);
  });

  it('copies typing, receipts and markers of type chat; not group chat, errors or bodiless normal messages', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const phone = await withCarbons({ resource: 'phone', priority: 10 });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    fake.peerTypes(alice.id, 'composing');
    const typing = carried(await laptop.next(isCarbon('received')), 'received')!;
    expect(typing.getChild('composing', CHATSTATES)).toBeDefined();

    laptop.send(`<message type='chat' to='${full(alice.id)}'><received xmlns='${RECEIPTS}' id='x1'/></message>`);
    expect(carried(await phone.next(isCarbon('sent')), 'sent')!.getChild('received', RECEIPTS)).toBeDefined();

    laptop.send(`<message to='${bare(alice.id)}'><paused xmlns='${CHATSTATES}'/></message>`);
    laptop.send(`<message type='groupchat' to='${bare(alice.id)}'><body>group</body></message>`);
    laptop.send(`<message type='error' to='${bare(alice.id)}'><body>oops</body></message>`);
    laptop.send(`<message type='headline' to='${bare(alice.id)}'><body>news</body></message>`);
    await laptop.sync();
    await phone.expectNothing(300, anyCarbon);
    // A normal message with a body is copied.
    laptop.send(`<message to='${bare(alice.id)}'><body>normal</body></message>`);
    expect((await phone.next(isCarbon('sent', 'normal'))).attrs.type).toBeUndefined();
  });

  it('only carbons-enabled resources get copies, and disabling stops them', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await gw.login({ resource: 'phone', priority: 10 });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    const pidgin = await gw.login({ resource: 'pidgin', priority: 1 });
    fake.peerSays(alice.id, 'first');
    await phone.next(chatFrom(full(alice.id), 'first'));
    await laptop.next(isCarbon('received', 'first'));
    await pidgin.expectNothing(300, (el) => el.name === 'message');

    expect((await laptop.iq(`<disable xmlns='${CARBONS}'/>`, { type: 'set' })).attrs.type).toBe('result');
    fake.peerSays(alice.id, 'second');
    await phone.next(chatFrom(full(alice.id), 'second'));
    phone.send(`<message type='chat' to='${bare(alice.id)}'><body>reply</body></message>`);
    await vi.waitFor(() => expect(fake.sent.map((s) => s.text)).toEqual(['reply']));
    await laptop.expectNothing(300, (el) => el.name === 'message');
  });

  it('the gateway contact\'s conversation is copied both ways', async () => {
    const phone = await withCarbons({ resource: 'phone', priority: 10 });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    laptop.send(`<message type='chat' to='${gw.domain}'><body>help</body></message>`);
    await phone.next(isCarbon('sent', 'help'));
    // The answer goes to the laptop that asked; the phone sees it as received.
    const answer = await laptop.next(chatFrom(gw.domain));
    expect(carried(await phone.next(isCarbon('received')), 'received')!.getChildText('body')).toBe(answer.getChildText('body'));
  });

  it('a resumed session (XEP-0198) gets the carbons made while it was away', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const laptop = await gw.login({ resource: 'laptop', priority: 10 });
    const phone = await withCarbons({ resource: 'phone', priority: 0, sm: 'resume' });
    const h = handledByClient(phone);
    phone.kill();
    fake.peerSays(alice.id, 'while the phone was in a tunnel');
    await laptop.next(chatFrom(full(alice.id), 'while the phone was in a tunnel'));
    const { c, answer } = await gw.resume(phone.smId!, h);
    expect(answer.name).toBe('resumed');
    await c.next(isCarbon('received', 'while the phone was in a tunnel'));
    // Still enabled after the resumption.
    fake.peerSays(alice.id, 'and after');
    await c.next(isCarbon('received', 'and after'));
  });

  it('a message a dead session never acknowledged is not handed to a session that has it as a carbon', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const pidgin = await gw.login({ resource: 'pidgin', priority: 10, sm: true });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    fake.peerSays(alice.id, 'seen on the laptop');
    await pidgin.next(chatFrom(full(alice.id), 'seen on the laptop'));
    await laptop.next(isCarbon('received', 'seen on the laptop'));
    pidgin.kill(); // never acknowledged
    await laptop.next((el) => el.name === 'presence' && el.attrs.from === me('pidgin') && el.attrs.type === 'unavailable');
    await laptop.expectNothing(300, chatFrom(full(alice.id)));
    // Without a carbon of it, the laptop does get it.
    await laptop.iq(`<disable xmlns='${CARBONS}'/>`, { type: 'set' });
    const desk = await gw.login({ resource: 'desk', priority: 10, sm: true });
    fake.peerSays(alice.id, 'only on the desk');
    await desk.next(chatFrom(full(alice.id), 'only on the desk'));
    desk.kill();
    await laptop.next(chatFrom(full(alice.id), 'only on the desk'));
  });

  it('a carbon a dead session never acknowledged is not handed to the others (they have the message)', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const laptop = await gw.login({ resource: 'laptop', priority: 10 });
    const pidgin = await withCarbons({ resource: 'pidgin', priority: 0, sm: true });
    fake.peerSays(alice.id, 'once');
    await laptop.next(chatFrom(full(alice.id), 'once'));
    await pidgin.next(isCarbon('received', 'once'));
    pidgin.kill();
    // Its session is over; its unacknowledged stanzas are dealt with right after this presence.
    await laptop.next((el) => el.name === 'presence' && el.attrs.from === me('pidgin') && el.attrs.type === 'unavailable');
    await laptop.expectNothing(300, (el) => el.name === 'message');
    expect(laptop.received.filter((el) => el.getNS() === SM)).toEqual([]);
  });
});

describe('message carbons, as the message handler sees them', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { bare } = gatewayPerTest((d) => ({ gw, fake } = d), { features: [...defaultFeatures.filter((f) => f.name !== 'messages'), recorder] });
  const withCarbons = (opts: LoginOptions) => loginWithCarbons(gw, opts);

  it('<private/> and <no-copy/> are not copied; <private/> does not go on', async () => {
    seenByHandler.length = 0;
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await withCarbons({ resource: 'phone', priority: 10 });
    const laptop = await withCarbons({ resource: 'laptop', priority: 1 });
    laptop.send(`<message type='chat' to='${bare(alice.id)}'><body>secret</body><private xmlns='${CARBONS}'/></message>`);
    laptop.send(`<message type='chat' to='${bare(alice.id)}'><body>hinted</body><no-copy xmlns='urn:xmpp:hints'/></message>`);
    laptop.send(`<message type='chat' to='${bare(alice.id)}'><body>plain</body></message>`);
    // The third is copied: the first two, before it, would have been too.
    await phone.next(isCarbon('sent', 'plain'));
    expect(phone.received.filter(anyCarbon)).toHaveLength(1);
    expect(seenByHandler.map((m) => m.getChildText('body'))).toEqual(['secret', 'hinted', 'plain']);
    expect(seenByHandler[0]!.getChild('private', CARBONS)).toBeUndefined();
    expect(seenByHandler[1]!.getChild('no-copy', 'urn:xmpp:hints')).toBeDefined();
  });

});
