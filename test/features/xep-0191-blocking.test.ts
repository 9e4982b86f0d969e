// Blocking dialogues: blocklist, block, unblock one or all, pushes to every session (XEP-0191).
import { describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const BLOCKING = 'urn:xmpp:blocking';
const ROSTER = 'jabber:iq:roster';
const pushOf = (name: 'block' | 'unblock') => (el: Element) => el.name === 'iq' && el.attrs.type === 'set' && !!el.getChild(name, BLOCKING);
const jidsIn = (el: Element, name: string) => el.getChild(name, BLOCKING)!.getChildren('item').map((i) => i.attrs.jid);

describe('blocking', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  const { bare } = gatewayPerTest((d) => ({ gw, fake } = d));

  it('blocks a contact: every session gets the push, and the contact leaves the roster', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await gw.login({ resource: 'one' });
    const other = await gw.login({ resource: 'two' });
    expect(jidsIn(await me.iq(`<blocklist xmlns='${BLOCKING}'/>`), 'blocklist')).toEqual([]);

    const res = await me.iq(`<block xmlns='${BLOCKING}'><item jid='${bare(alice.id)}'/></block>`, { type: 'set' });
    expect(res.attrs.type).toBe('result');
    expect(fake.listBlocked()).toEqual([alice.id]);
    for (const c of [me, other]) expect(jidsIn(await c.next(pushOf('block')), 'block')).toEqual([bare(alice.id)]);
    const removal = await me.next((el) => el.name === 'iq' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.subscription === 'remove');
    // COMPAT(libpurple, bitlbee): the contact is shown unavailable BEFORE it leaves the roster,
    // or libpurple ignores the presence and keeps showing it online.
    const gone = me.received.findIndex((el) => el.name === 'presence' && el.attrs.from === `${bare(alice.id)}/tlsim` && el.attrs.type === 'unavailable');
    expect(gone).toBeGreaterThanOrEqual(0);
    expect(gone).toBeLessThan(me.received.indexOf(removal));
    expect(jidsIn(await other.iq(`<blocklist xmlns='${BLOCKING}'/>`), 'blocklist')).toEqual([bare(alice.id)]);
  });

  it('pushes a block made elsewhere (text bot, ad-hoc, CLI) to every session, and its unblock', async () => {
    const bob = fake.addFakeContact({ name: 'Bob', online: true });
    const me = await gw.login({ resource: 'one' });
    const other = await gw.login({ resource: 'two' });
    await fake.block(bob.id);
    for (const c of [me, other]) expect(jidsIn(await c.next(pushOf('block')), 'block')).toEqual([bare(bob.id)]);
    await fake.unblock(bob.id);
    for (const c of [me, other]) expect(jidsIn(await c.next(pushOf('unblock')), 'unblock')).toEqual([bare(bob.id)]);
  });

  it('unblocks one peer, and all of them with an empty unblock', async () => {
    const a = fake.addFakeContact({ name: 'A', state: 'blocked' });
    const b = fake.addFakeContact({ name: 'B', state: 'blocked' });
    const c = fake.addFakeContact({ name: 'C', state: 'blocked' });
    const me = await gw.login();

    await me.iq(`<unblock xmlns='${BLOCKING}'><item jid='${bare(a.id)}'/></unblock>`, { type: 'set' });
    expect(jidsIn(await me.next(pushOf('unblock')), 'unblock')).toEqual([bare(a.id)]);
    expect(fake.listBlocked().sort()).toEqual([b.id, c.id].sort());

    const all = await me.iq(`<unblock xmlns='${BLOCKING}'/>`, { type: 'set' });
    expect(all.attrs.type).toBe('result');
    expect(fake.listBlocked()).toEqual([]);
    await me.next((el) => pushOf('unblock')(el) && el.getChild('unblock', BLOCKING)!.elements().length === 0);
  });

  it('refuses JIDs that are not peers and a block without items', async () => {
    const me = await gw.login();
    expect(stanzaErrorOf(await me.iq(`<block xmlns='${BLOCKING}'><item jid='spam@example.org'/></block>`, { type: 'set' }))).toBe('not-acceptable');
    expect(stanzaErrorOf(await me.iq(`<block xmlns='${BLOCKING}'/>`, { type: 'set' }))).toBe('bad-request');
  });
});
