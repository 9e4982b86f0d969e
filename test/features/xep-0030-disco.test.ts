// Service discovery dialogues: server, account, peer domain, contacts and their caps (XEP-0030, XEP-0115).
import { describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { capsVer } from '../../gateway/features/support/contact-caps.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';
const CAPS = 'http://jabber.org/protocol/caps';
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

  it('describes a contact with chat states and caps, under its caps node too, matching the presence hash', async () => {
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await gw.login();
    const full = `${alice.id}@${gw.peerDomain}/tlsim`;
    const c = (await me.next((el) => el.name === 'presence' && el.attrs.from === full)).getChild('c', CAPS)!;

    const res = await me.iq(`<query xmlns='${INFO}' node='${c.attrs.node}#${c.attrs.ver}'/>`, { to: full });
    expect(res.attrs.type).toBe('result');
    expect(res.getChild('query', INFO)!.attrs.node).toBe(`${c.attrs.node}#${c.attrs.ver}`);
    const features = featuresOf(res) as string[];
    expect(features).toEqual(expect.arrayContaining([INFO, CAPS, 'http://jabber.org/protocol/chatstates']));
    // A client that checks the hash (Gajim) must get the same ver from the answer.
    const ids = identitiesOf(res).map((i) => ({ category: i.category!, type: i.type!, name: i.name, lang: i['xml:lang'] }));
    expect(capsVer(ids, features)).toBe(c.attrs.ver);

    const bareRes = await me.iq(`<query xmlns='${INFO}'/>`, { to: `${alice.id}@${gw.peerDomain}` });
    expect(featuresOf(bareRes)).toEqual(features);
  });

  it('says item-not-found for unknown contacts and unknown nodes', async () => {
    const me = await gw.login();
    const unknown = await me.iq(`<query xmlns='${INFO}'/>`, { to: `${'0'.repeat(64)}@${gw.peerDomain}` });
    expect(stanzaErrorOf(unknown)).toBe('item-not-found');
    const node = await me.iq(`<query xmlns='${INFO}' node='nope'/>`, { to: gw.domain });
    expect(stanzaErrorOf(node)).toBe('item-not-found');
  });
});
