// vCard dialogues: the user's own, the gateway's, a contact's (XEP-0054).
import { afterAll, describe, expect, it } from 'vitest';
import { randomPeerId } from '../../gateway/bridge/fake-peer-network.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { directoryFixture } from '../support/foaf.js';
import { removeTmpDirs } from '../support/identities.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const VCARD = 'vcard-temp';

describe('vcard-temp', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('gives an empty own vCard, never an error (Pidgin would never publish its own), then what was set', async () => {
    const me = await gw.login();
    const empty = await me.iq(`<vCard xmlns='${VCARD}'/>`);
    expect(empty.attrs.type).toBe('result');
    expect(empty.getChild('vCard', VCARD)!.elements()).toHaveLength(0);

    const set = await me.iq(`<vCard xmlns='${VCARD}'><FN>Me Myself</FN><NICKNAME>me</NICKNAME></vCard>`, { type: 'set' });
    expect(set.attrs.type).toBe('result');
    const mine = await me.iq(`<vCard xmlns='${VCARD}'/>`, { to: gw.userJid });
    expect(mine.getChild('vCard', VCARD)!.getChildText('FN')).toBe('Me Myself');
  });

  it('describes a contact by its name and fingerprint', async () => {
    const alice = gw.fake!.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    const res = await me.iq(`<vCard xmlns='${VCARD}'/>`, { to: `${alice.id}@${gw.peerDomain}` });
    const card = res.getChild('vCard', VCARD)!;
    expect(card.getChildText('FN')).toBe('Alice');
    expect(card.getChildText('NICKNAME')).toBe('Alice');
    expect(card.getChildText('NOTE')).toContain(alice.id);
  });

  it('describes the gateway contact, and says item-not-found for unknown peers', async () => {
    const me = await gw.login();
    const gateway = await me.iq(`<vCard xmlns='${VCARD}'/>`, { to: gw.domain });
    expect(gateway.getChild('vCard', VCARD)!.getChildText('FN')).toBe('tlsim gateway');
    expect(stanzaErrorOf(await me.iq(`<vCard xmlns='${VCARD}'/>`, { to: `${randomPeerId()}@${gw.peerDomain}` }))).toBe('item-not-found');
  });
});

describe('vcard-temp and the FOAF profile', () => {
  let gw: TestGateway;
  let dir = directoryFixture();
  gatewayPerTest(
    (d) => ({ gw } = d),
    () => ((dir = directoryFixture()), { network: dir.network }),
  );
  afterAll(() => removeTmpDirs());

  it('NICKNAME, FN and DESC of the vCard the client sets are the profile, and the profile shows in the vCard', async () => {
    const me = await gw.login();
    await me.iq(`<vCard xmlns='${VCARD}'><FN>Alice Liddell</FN><NICKNAME>alice</NICKNAME><DESC>Down the hole</DESC><URL>x</URL></vCard>`, { type: 'set' });
    expect(dir.directory.profile()).toMatchObject({ nick: 'alice', name: 'Alice Liddell', description: 'Down the hole' });
    expect(dir.directory.turtle()).toContain('"Down the hole"');

    dir.directory.setField('nick', 'ally');
    const card = (await me.iq(`<vCard xmlns='${VCARD}'/>`)).getChild('vCard', VCARD)!;
    expect(card.getChildText('NICKNAME')).toBe('ally');
    expect(card.getChildText('FN')).toBe('Alice Liddell');
    expect(card.getChildText('URL')).toBe('x');
  });
});
