// Chat state dialogues: a peer's typing reaches the user as a state-only message (XEP-0085).
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const CHATSTATES = 'http://jabber.org/protocol/chatstates';

describe('chat states', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('shows a peer typing', async () => {
    const alice = gw.fake!.addFakeContact({ name: 'Alice', online: true });
    const me = await gw.login();
    // Available once the gateway contact's presence (sent first at initial presence) is there.
    await me.next((el) => el.name === 'presence' && el.attrs.from === gw.domain);
    gw.fake!.peerTypes(alice.id, 'composing');
    const msg = await me.next((el) => el.name === 'message' && !!el.getChild('composing', CHATSTATES));
    expect(msg.attrs).toMatchObject({ type: 'chat', from: `${alice.id}@${gw.peerDomain}/tlsim` });
    expect(msg.getChild('body')).toBeUndefined();
  });
});
