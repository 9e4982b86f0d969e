// PEP dialogues: OMEMO device list queries to contacts fail fast with item-not-found (XEP-0163, Dino).
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const DEVICELIST = `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='eu.siacs.conversations.axolotl.devicelist'/></pubsub>`;

describe('pep', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('answers device list queries with item-not-found, for contacts and the account', async () => {
    const alice = gw.fake!.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    expect(stanzaErrorOf(await me.iq(DEVICELIST, { to: `${alice.id}@${gw.peerDomain}` }))).toBe('item-not-found');
    expect(stanzaErrorOf(await me.iq(DEVICELIST))).toBe('item-not-found');
  });
});
