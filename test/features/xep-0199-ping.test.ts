// Ping dialogues: the server, the account, the peer domain and contacts answer (XEP-0199).
import { describe, expect, it } from 'vitest';
import { randomPeerId } from '../../gateway/bridge/fake-peer-network.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const PING = `<ping xmlns='urn:xmpp:ping'/>`;

describe('ping', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('answers the keepalive ping without `to` (Pidgin), and pings to the server and peer domain', async () => {
    const me = await gw.login();
    expect((await me.iq(PING)).attrs.type).toBe('result');
    expect((await me.iq(PING, { to: gw.domain })).attrs).toMatchObject({ type: 'result', from: gw.domain });
    expect((await me.iq(PING, { to: gw.peerDomain })).attrs.type).toBe('result');
  });

  it('answers for a contact, and at its full JID only while the peer is connected', async () => {
    const fake = gw.fake!;
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const bob = fake.addFakeContact({ name: 'Bob' });
    const me = await gw.login();
    expect((await me.iq(PING, { to: `${alice.id}@${gw.peerDomain}` })).attrs.type).toBe('result');
    expect((await me.iq(PING, { to: `${alice.id}@${gw.peerDomain}/tlsim` })).attrs.type).toBe('result');
    expect((await me.iq(PING, { to: `${bob.id}@${gw.peerDomain}` })).attrs.type).toBe('result');
    expect(stanzaErrorOf(await me.iq(PING, { to: `${bob.id}@${gw.peerDomain}/tlsim` }))).toBe('service-unavailable');
  });

  it('says service-unavailable for a peer that is not a contact (RFC 6121 §8.5.1)', async () => {
    const me = await gw.login();
    expect(stanzaErrorOf(await me.iq(PING, { to: `${randomPeerId()}@${gw.peerDomain}` }))).toBe('service-unavailable');
  });
});
