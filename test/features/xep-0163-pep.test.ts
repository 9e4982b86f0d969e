// PEP dialogues: OMEMO device list queries to contacts fail fast with item-not-found (XEP-0163, Dino).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const errorOf = (el: Element) => el.getChild('error')?.elements().find((e) => e.getNS() === STANZAS)?.name;
const DEVICELIST = `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='eu.siacs.conversations.axolotl.devicelist'/></pubsub>`;

describe('pep', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await startTestGateway();
  });
  afterEach(() => gw.stop());

  it('answers device list queries with item-not-found, for contacts and the account', async () => {
    const alice = gw.fake!.addFakeContact({ name: 'Alice' });
    const me = await gw.login();
    expect(errorOf(await me.iq(DEVICELIST, { to: `${alice.id}@${gw.peerDomain}` }))).toBe('item-not-found');
    expect(errorOf(await me.iq(DEVICELIST))).toBe('item-not-found');
  });
});
