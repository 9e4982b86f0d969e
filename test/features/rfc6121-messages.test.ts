// Chat dialogues: user ⇄ peer, queued and refused messages, offline storage, notices, the gateway bot.
import { describe, expect, it, vi } from 'vitest';
import { randomPeerId, type FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, loginOnline } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const CHATSTATES = 'http://jabber.org/protocol/chatstates';
const DELAY = 'urn:xmpp:delay';
const chatFrom = (from: string) => (el: Element) =>
  el.name === 'message' && el.attrs.from === from && el.attrs.type === 'chat' && el.getChild('body') !== undefined;

describe('messages', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { full, bare } = gatewayPerTest((d) => ({ gw, fake } = d));
  // login() does not wait for the initial presence to be processed: the gateway contact's
  // presence, the first thing the user gets, says the session is available.
  const online = (opts?: { resource?: string }) => loginOnline(gw, opts);

  it('sends the user\'s message to the peer', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await gw.login();
    me.send(`<message type='chat' to='${bare(alice.id)}' id='m1'><body>hello &amp; welcome</body><active xmlns='${CHATSTATES}'/></message>`);
    await vi.waitFor(() => expect(fake.sent).toContainEqual({ id: alice.id, text: 'hello & welcome' }));
  });

  it('passes typing notifications on to a gateway contact, without a body', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await gw.login();
    me.send(`<message type='chat' to='${full(alice.id)}'><composing xmlns='${CHATSTATES}'/></message>`);
    await vi.waitFor(() => expect(fake.chatStates).toContainEqual({ id: alice.id, state: 'composing' }));
    expect(fake.sent).toHaveLength(0);
  });

  it('shows a gateway peer\'s message as chat with <active/>, so Pidgin keeps typing notifications', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    fake.peerSays(alice.id, 'hi there');
    const msg = await me.next(chatFrom(full(alice.id)));
    expect(msg.getChildText('body')).toBe('hi there');
    expect(msg.getChild('active', CHATSTATES)).toBeDefined();
    expect(msg.getChild('delay', DELAY)).toBeUndefined();
  });

  it('shows a reference peer\'s message without a chat state: it cannot see typing, so Pidgin stops sending it', async () => {
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await online();
    fake.peerSays(rex.id, 'plain line');
    const msg = await me.next(chatFrom(full(rex.id)));
    expect(msg.getChildText('body')).toBe('plain line');
    expect(msg.elements().filter((e) => e.getNS() === CHATSTATES)).toEqual([]);
  });

  it('stamps a late message with its time, and marks a cut one', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await online();
    const stamp = new Date('2026-01-02T03:04:05Z');
    fake.peerSays(alice.id, 'sent yesterday', { stamp });
    const late = await me.next(chatFrom(full(alice.id)));
    expect(new Date(late.getChild('delay', DELAY)!.attrs.stamp!).getTime()).toBe(stamp.getTime());

    fake.peerSays(alice.id, 'a very long', { truncated: true });
    const cut = await me.next((el) => chatFrom(full(alice.id))(el) && el.getChildText('body')!.startsWith('a very long'));
    expect(cut.getChildText('body')).toMatch(/^a very long \[message cut: .+\]$/);
  });

  it('keeps messages while the user is offline and delivers them, stamped, at the next login', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    // Logged in but not available counts as offline too.
    await gw.login({ presence: false });
    fake.peerSays(alice.id, 'are you there?');
    fake.notice('Bob changed his certificate');

    const me = await gw.login();
    const msg = await me.next(chatFrom(full(alice.id)));
    expect(msg.getChildText('body')).toBe('are you there?');
    expect(msg.getChild('delay', DELAY)!.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const notice = await me.next(chatFrom(gw.domain));
    expect(notice.getChildText('body')).toBe('Bob changed his certificate');

    const again = await gw.login({ resource: 'second' });
    await again.expectNothing(300, chatFrom(full(alice.id)));
  });

  it('keeps a message the client never acknowledged (XEP-0198) when its stream dies', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const phone = await gw.login({ sm: true });
    await phone.next((el) => el.name === 'presence' && el.attrs.from === gw.domain);
    fake.peerSays(alice.id, 'did you get this?');
    await phone.next(chatFrom(full(alice.id)));
    phone.kill(); // gone before acknowledging it

    // Whether the new session comes before or after the server notices, the message reaches it.
    const me = await gw.login();
    expect((await me.next(chatFrom(full(alice.id)))).getChildText('body')).toBe('did you get this?');
  });

  it('tells the user once, from the gateway contact, that messages to an offline peer wait', async () => {
    const bob = fake.addFakeContact({ name: 'Bob' });
    const me = await gw.login();
    me.send(`<message type='chat' to='${bare(bob.id)}'><body>one</body></message>`);
    const notice = await me.next(chatFrom(gw.domain));
    expect(notice.getChildText('body')).toContain('Bob is offline');
    me.send(`<message type='chat' to='${bare(bob.id)}'><body>two</body></message>`);
    await me.expectNothing(300, chatFrom(gw.domain));

    fake.setOnline(bob.id, true);
    await vi.waitFor(() => expect(fake.sent.map((s) => s.text)).toEqual(['one', 'two']));
  });

  it('refuses messages to unknown and blocked peers', async () => {
    const mallory = fake.addFakeContact({ name: 'Mallory', state: 'blocked' });
    const me = await gw.login();
    me.send(`<message type='chat' to='${bare(randomPeerId())}' id='u1'><body>hi</body></message>`);
    const unknown = await me.next((el) => el.name === 'message' && el.attrs.id === 'u1');
    expect(unknown.attrs.type).toBe('error');
    expect(stanzaErrorOf(unknown)).toBe('item-not-found');

    me.send(`<message type='chat' to='${bare(mallory.id)}' id='b1'><body>hi</body></message>`);
    const blocked = await me.next((el) => el.name === 'message' && el.attrs.id === 'b1');
    expect(stanzaErrorOf(blocked)).toBe('not-acceptable');
    expect(fake.sent).toHaveLength(0);
  });

  it('passes notices from the network on from the gateway contact', async () => {
    const me = await online();
    fake.notice('Cannot reach peer: no address known');
    expect((await me.next(chatFrom(gw.domain))).getChildText('body')).toBe('Cannot reach peer: no address known');
  });

  it('answers help and unknown commands sent to the gateway contact', async () => {
    const me = await gw.login();
    me.send(`<message type='chat' to='${gw.domain}'><body>help</body></message>`);
    expect((await me.next(chatFrom(gw.domain))).getChildText('body')).toContain('help');
    me.send(`<message type='chat' to='${gw.domain}'><body>frobnicate</body></message>`);
    const reply = await me.next((el) => chatFrom(gw.domain)(el) && /^unknown command "frobnicate"/.test(el.getChildText('body') ?? ''));
    expect(reply.attrs.to).toBe(me.jid);
  });

  it('a peer message reaches no client before its commit, and none at all when the commit rolls back (a crash-safe receive)', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const me = await online();
    expect(() =>
      fake.inCommit(() => {
        fake.peerSays(alice.id, 'rolled back');
        throw new Error('database or disk is full');
      }),
    ).toThrow('disk is full');
    fake.inCommit(() => fake.peerSays(alice.id, 'committed'));
    const msg = await me.next(chatFrom(full(alice.id)));
    expect(msg.getChildText('body')).toBe('committed');
    expect(me.received.filter(chatFrom(full(alice.id))).map((m) => m.getChildText('body'))).toEqual(['committed']);
  });
});
