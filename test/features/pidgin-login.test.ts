// The whole libpurple 2.14 login sequence and a first conversation, as Pidgin drives it
// (research/xmpp-clients.md §1.1): every iq gets the answer Pidgin needs to finish logging in.
import { describe, expect, it, vi } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';
const ROSTER = 'jabber:iq:roster';
const CHATSTATES = 'http://jabber.org/protocol/chatstates';

describe('Pidgin login sequence', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  gatewayPerTest((d) => ({ gw, fake } = d));

  it('gets every answer it waits for, then contacts, presences and messages both ways', async () => {
    // Alice's peer is a tlsim-gateway (her messages carry <active/>, so Pidgin keeps typing to her).
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const bob = fake.addFakeContact({ name: 'Bob' });
    const aliceFull = `${alice.id}@${gw.peerDomain}/tlsim`;
    // Pidgin sends its initial presence only after the roster result.
    const me = await gw.login({ presence: false });

    // 1. disco#items on the domain; disco#info on each item without a node.
    const items = await me.iq(`<query xmlns='${ITEMS}'/>`, { to: gw.domain });
    expect(items.attrs.type).toBe('result');
    const listed = items.getChild('query', ITEMS)!.getChildren('item');
    expect(listed.length).toBeGreaterThan(0);
    for (const item of listed.filter((i) => !i.attrs.node)) {
      expect((await me.iq(`<query xmlns='${INFO}'/>`, { to: item.attrs.jid })).attrs.type).toBe('result');
    }

    // 2. disco#info on the domain: ignored unless from = the domain.
    const info = await me.iq(`<query xmlns='${INFO}'/>`, { to: gw.domain });
    expect(info.attrs).toMatchObject({ type: 'result', from: gw.domain });

    // 3. own vCard (never an error other than item-not-found), roster, blocklist.
    expect((await me.iq(`<vCard xmlns='vcard-temp'/>`)).attrs.type).toBe('result');
    const roster = await me.iq(`<query xmlns='${ROSTER}'/>`);
    expect(roster.attrs.type).toBe('result');
    expect([undefined, gw.userJid]).toContain(roster.attrs.from); // else a "bogon"
    const rosterItems = roster.getChild('query', ROSTER)!.getChildren('item');
    expect(rosterItems.find((i) => i.attrs.jid === gw.domain)?.attrs.subscription).toBe('both');
    for (const c of [alice, bob]) {
      expect(rosterItems.find((i) => i.attrs.jid === `${c.id}@${gw.peerDomain}`)?.attrs).toMatchObject({ name: c.name, subscription: 'both' });
    }
    expect((await me.iq(`<blocklist xmlns='urn:xmpp:blocking'/>`)).attrs.type).toBe('result');
    // The keepalive.
    expect((await me.iq(`<ping xmlns='urn:xmpp:ping'/>`)).attrs.type).toBe('result');

    // 4. Initial presence: the online contact is there, the offline one is not.
    me.send('<presence/>');
    await me.next((el) => el.name === 'presence' && el.attrs.from === aliceFull && el.attrs.type === undefined);
    await me.next((el) => el.name === 'presence' && el.attrs.from?.startsWith(bob.id) === true && el.attrs.type === 'unavailable');

    // 5. Alice goes offline and comes back.
    fake.setOnline(alice.id, false);
    await me.next((el) => el.name === 'presence' && el.attrs.from === aliceFull && el.attrs.type === 'unavailable');
    fake.setOnline(alice.id, true);
    await me.next((el) => el.name === 'presence' && el.attrs.from === aliceFull && el.attrs.type === undefined);

    // 6. A conversation.
    me.send(`<message type='chat' to='${aliceFull}' id='p1'><body>hi Alice</body><active xmlns='${CHATSTATES}'/></message>`);
    await vi.waitFor(() => expect(fake.sent).toContainEqual({ id: alice.id, text: 'hi Alice' }));
    fake.peerSays(alice.id, 'hi!');
    const reply = await me.next((el) => el.name === 'message' && el.attrs.from === aliceFull && el.getChild('body') !== undefined);
    expect(reply.getChildText('body')).toBe('hi!');
    expect(reply.getChild('active', CHATSTATES)).toBeDefined();
  });

  it('answers item-not-found about unknown contacts, and the core answers unknown namespaces', async () => {
    const me = await gw.login();
    const unknownContact = await me.iq(`<query xmlns='${INFO}'/>`, { to: `${'f'.repeat(64)}@${gw.peerDomain}` });
    expect(stanzaErrorOf(unknownContact)).toBe('item-not-found');
    const unknownNs = await me.iq(`<query xmlns='urn:example:nothing-here'/>`);
    expect(unknownNs.attrs.type).toBe('error');
    expect(stanzaErrorOf(unknownNs)).toBe('service-unavailable');
  });
});
