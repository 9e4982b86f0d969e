// Service discovery dialogues: server, account, peer domain, contacts and their caps (XEP-0030, XEP-0115).
import { describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { CAPS_NODE, capsVer } from '../../gateway/features/support/contact-caps.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';
const CAPS = 'http://jabber.org/protocol/caps';
const CHATSTATES = 'http://jabber.org/protocol/chatstates';
const RECEIPTS = 'urn:xmpp:receipts';
const MARKERS = 'urn:xmpp:chat-markers:0';
const featuresOf = (res: Element) => res.getChild('query', INFO)!.getChildren('feature').map((f) => f.attrs.var);
const identitiesOf = (res: Element) => res.getChild('query', INFO)!.getChildren('identity').map((i) => i.attrs);

describe('disco', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  gatewayPerTest((d) => ({ gw, fake } = d));

  it('describes the server as server/im with what the features declared', async () => {
    const me = await gw.login();
    const res = await me.iq(`<query xmlns='${INFO}'/>`, { to: gw.domain });
    expect(res.attrs).toMatchObject({ type: 'result', from: gw.domain });
    expect(identitiesOf(res)).toContainEqual(expect.objectContaining({ category: 'server', type: 'im', name: 'tlsim gateway' }));
    expect(featuresOf(res)).toEqual(
      expect.arrayContaining([INFO, ITEMS, 'urn:xmpp:ping', 'urn:xmpp:blocking', 'vcard-temp', 'jabber:iq:version']),
    );
    // Pidgin lists the server's commands under the account menu when this is advertised.
    expect(featuresOf(res)).toContain('http://jabber.org/protocol/commands');
  });

  it('lists the peer domain, which answers disco#info with a result', async () => {
    const me = await gw.login();
    const items = await me.iq(`<query xmlns='${ITEMS}'/>`, { to: gw.domain });
    const listed = items.getChild('query', ITEMS)!.getChildren('item');
    expect(listed.map((i) => i.attrs.jid)).toEqual([gw.peerDomain]);
    const info = await me.iq(`<query xmlns='${INFO}'/>`, { to: gw.peerDomain });
    expect(info.attrs.type).toBe('result');
    expect(identitiesOf(info)[0]).toMatchObject({ category: 'gateway' });

    const commands = await me.iq(`<query xmlns='${ITEMS}' node='http://jabber.org/protocol/commands'/>`, { to: gw.domain });
    expect(commands.attrs.type).toBe('result');
    const cmds = commands.getChild('query', ITEMS)!.getChildren('item');
    expect(cmds.map((i) => i.attrs.node)).toContain('add');
    for (const c of cmds) expect(c.attrs.jid).toBe(gw.domain);
  });

  it('describes the account', async () => {
    const me = await gw.login();
    const res = await me.iq(`<query xmlns='${INFO}'/>`, { to: gw.userJid });
    expect(res.attrs.type).toBe('result');
    expect(identitiesOf(res)).toContainEqual(expect.objectContaining({ category: 'account', type: 'registered' }));
  });

  /** A contact's caps from its presence, and the disco#info under that caps node: checks the ver verifies. */
  async function capsAndInfo(me: Awaited<ReturnType<TestGateway['login']>>, full: string, from = 0) {
    const pres = await me.next((el) => el.name === 'presence' && el.attrs.from === full && me.received.indexOf(el) >= from);
    const c = pres.getChild('c', CAPS)!;
    const res = await me.iq(`<query xmlns='${INFO}' node='${c.attrs.node}#${c.attrs.ver}'/>`, { to: full });
    expect(res.attrs.type).toBe('result');
    expect(res.getChild('query', INFO)!.attrs.node).toBe(`${c.attrs.node}#${c.attrs.ver}`);
    const features = featuresOf(res) as string[];
    // A client that checks the hash (Gajim) must get the same ver from the answer.
    const ids = identitiesOf(res).map((i) => ({ category: i.category!, type: i.type!, name: i.name, lang: i['xml:lang'] }));
    expect(capsVer(ids, features)).toBe(c.attrs.ver);
    return { ver: c.attrs.ver!, features };
  }

  it('describes gateway and reference contacts as two classes, each with a caps ver that verifies', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true, gateway: true });
    const bob = fake.addFakeContact({ name: 'Bob', online: true, gateway: true });
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const full = (id: string) => `${id}@${gw.peerDomain}/tlsim`;
    const a = await capsAndInfo(me, full(alice.id));
    const b = await capsAndInfo(me, full(bob.id));
    const r = await capsAndInfo(me, full(rex.id));

    // Gateway peers: their user's client answers receipts and markers, and types.
    expect(a.features).toEqual(expect.arrayContaining([INFO, CAPS, CHATSTATES, RECEIPTS, MARKERS]));
    expect(b.ver).toBe(a.ver);
    // A reference peer can do none of it: nothing is promised.
    expect(r.features).toEqual(expect.arrayContaining([INFO, CAPS]));
    for (const f of [CHATSTATES, RECEIPTS, MARKERS]) expect(r.features).not.toContain(f);
    expect(r.ver).not.toBe(a.ver);
    expect(a.features.filter((f) => !r.features.includes(f)).sort()).toEqual([CHATSTATES, MARKERS, RECEIPTS].sort());

    // Without a node, the bare JID and the full JID say the same as their caps.
    for (const [id, c] of [[alice.id, a], [rex.id, r]] as const) {
      expect(featuresOf(await me.iq(`<query xmlns='${INFO}'/>`, { to: `${id}@${gw.peerDomain}` }))).toEqual(c.features);
    }
  });

  it('announces new caps when a peer turns out to be a gateway at a new link', async () => {
    const rex = fake.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const full = `${rex.id}@${gw.peerDomain}/tlsim`;
    const before = await capsAndInfo(me, full);
    const from = me.received.length;
    fake.setGateway(rex.id, true);
    const after = await capsAndInfo(me, full, from);
    expect(after.ver).not.toBe(before.ver);
    expect(after.features).toContain(RECEIPTS);
    // A client still holding the old ver gets the old class's answer under its node.
    const old = await me.iq(`<query xmlns='${INFO}' node='${CAPS_NODE}#${before.ver}'/>`, { to: full });
    expect(featuresOf(old)).toEqual(before.features);
  });

  it('says item-not-found for unknown contacts and unknown nodes', async () => {
    const me = await gw.login();
    const unknown = await me.iq(`<query xmlns='${INFO}'/>`, { to: `${'0'.repeat(64)}@${gw.peerDomain}` });
    expect(stanzaErrorOf(unknown)).toBe('item-not-found');
    const node = await me.iq(`<query xmlns='${INFO}' node='nope'/>`, { to: gw.domain });
    expect(stanzaErrorOf(node)).toBe('item-not-found');
  });
});
