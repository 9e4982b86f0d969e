// Roster dialogues: get with versioning, add/rename/remove, pushes, errors (RFC 6121 §2).
import { describe, expect, it, vi } from 'vitest';
import { randomPeerId, type FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, isRosterPush as isPush, pushedRosterItem as pushedItem, ROSTER } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const itemsOf = (res: Element) => res.getChild('query', ROSTER)?.getChildren('item') ?? [];

describe('roster', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  gatewayPerTest((d) => ({ gw, fake } = d));

  it('lists the gateway and every contact with subscription both, the name and group tlsim', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const bob = fake.addFakeContact({ name: 'Bob' });
    fake.addFakeContact({ name: 'Mallory', state: 'blocked' });
    fake.requestFrom(randomPeerId(), 'Stranger');
    const me = await gw.login();

    const res = await me.iq(`<query xmlns='${ROSTER}'/>`);
    expect(res.attrs.type).toBe('result');
    // COMPAT(pidgin): a roster result from anyone but the account itself is a "bogon".
    expect([undefined, gw.userJid]).toContain(res.attrs.from);
    const items = itemsOf(res);
    expect(items.map((i) => [i.attrs.jid, i.attrs.name, i.attrs.subscription])).toEqual(
      expect.arrayContaining([
        [gw.domain, 'tlsim gateway', 'both'],
        [`${alice.id}@${gw.peerDomain}`, 'Alice', 'both'],
        [`${bob.id}@${gw.peerDomain}`, 'Bob', 'both'],
      ]),
    );
    expect(items).toHaveLength(3); // the blocked peer and the stranger are not contacts
    expect(items.find((i) => i.attrs.name === 'Alice')!.getChildText('group')).toBe('tlsim');
  });

  it('answers a current version with an empty result and an old one with the new roster', async () => {
    fake.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    const first = await me.iq(`<query xmlns='${ROSTER}' ver=''/>`);
    const ver = first.getChild('query', ROSTER)!.attrs.ver!;
    expect(ver).toBeTruthy();

    const same = await me.iq(`<query xmlns='${ROSTER}' ver='${ver}'/>`);
    expect(same.attrs.type).toBe('result');
    expect(itemsOf(same)).toHaveLength(0);

    fake.addFakeContact({ name: 'Carol' });
    const push = await me.next(isPush);
    expect(pushedItem(push).attrs.name).toBe('Carol');
    const newVer = push.getChild('query', ROSTER)!.attrs.ver;
    expect(newVer).not.toBe(ver);

    const changed = await me.iq(`<query xmlns='${ROSTER}' ver='${ver}'/>`);
    expect(itemsOf(changed).map((i) => i.attrs.name)).toEqual(expect.arrayContaining(['Alice', 'Carol']));
    expect(changed.getChild('query', ROSTER)!.attrs.ver).toBe(newVer);
  });

  it('adds a peer by its JID, pushing the new item to every session', async () => {
    const me = await gw.login({ resource: 'one' });
    const other = await gw.login({ resource: 'two' });
    const id = randomPeerId();

    const res = await me.iq(`<query xmlns='${ROSTER}'><item jid='${id}@${gw.peerDomain}' name='Dave'><group>Friends</group></item></query>`, { type: 'set' });
    expect(res.attrs.type).toBe('result');
    expect(fake.getContact(id)).toMatchObject({ name: 'Dave', state: 'contact' });
    for (const c of [me, other]) {
      const push = await c.next(isPush);
      expect(push.attrs.from).toBeUndefined();
      expect(pushedItem(push).attrs).toMatchObject({ jid: `${id}@${gw.peerDomain}`, name: 'Dave', subscription: 'both' });
    }
  });

  it('renames and removes a contact', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    const jid = `${alice.id}@${gw.peerDomain}`;

    await me.iq(`<query xmlns='${ROSTER}'><item jid='${jid}' name='Alice (work)'/></query>`, { type: 'set' });
    expect(fake.getContact(alice.id)!.name).toBe('Alice (work)');
    expect(pushedItem(await me.next(isPush)).attrs.name).toBe('Alice (work)');

    const res = await me.iq(`<query xmlns='${ROSTER}'><item jid='${jid}' subscription='remove'/></query>`, { type: 'set' });
    expect(res.attrs.type).toBe('result');
    expect(fake.getContact(alice.id)).toBeUndefined();
    expect(pushedItem(await me.next(isPush)).attrs).toMatchObject({ jid, subscription: 'remove' });
  });

  it('accepts a pending request when the user adds the peer', async () => {
    const id = randomPeerId();
    fake.requestFrom(id, 'Erin');
    const me = await gw.login();
    await me.iq(`<query xmlns='${ROSTER}'><item jid='${id}@${gw.peerDomain}'/></query>`, { type: 'set' });
    expect(fake.getContact(id)!.state).toBe('contact');
  });

  it('refuses JIDs that are not peers, and removing what is not there', async () => {
    const me = await gw.login();
    const foreign = await me.iq(`<query xmlns='${ROSTER}'><item jid='alice@example.org'/></query>`, { type: 'set' });
    expect(foreign.attrs.type).toBe('error');
    expect(stanzaErrorOf(foreign)).toBe('not-acceptable');

    const missing = await me.iq(`<query xmlns='${ROSTER}'><item jid='${randomPeerId()}@${gw.peerDomain}' subscription='remove'/></query>`, { type: 'set' });
    expect(stanzaErrorOf(missing)).toBe('item-not-found');

    const two = await me.iq(`<query xmlns='${ROSTER}'><item jid='${randomPeerId()}@${gw.peerDomain}'/><item jid='${randomPeerId()}@${gw.peerDomain}'/></query>`, { type: 'set' });
    expect(stanzaErrorOf(two)).toBe('bad-request');

    const gateway = await me.iq(`<query xmlns='${ROSTER}'><item jid='${gw.domain}' subscription='remove'/></query>`, { type: 'set' });
    expect(stanzaErrorOf(gateway)).toBe('not-allowed');
  });

  it('pushes a removal when the network drops a contact', async () => {
    const alice = fake.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    await fake.removeContact(alice.id);
    const push = await me.next(isPush);
    expect(pushedItem(push).attrs.subscription).toBe('remove');
    await vi.waitFor(async () => expect(itemsOf(await me.iq(`<query xmlns='${ROSTER}'/>`))).toHaveLength(1));
  });
});
