// Last activity dialogue: the server reports its uptime (XEP-0012 §5).
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const LAST = 'jabber:iq:last';

describe('last activity', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('gives the server uptime in seconds', async () => {
    const me = await gw.login();
    const q = (await me.iq(`<query xmlns='${LAST}'/>`, { to: gw.domain })).getChild('query', LAST)!;
    expect(Number(q.attrs.seconds)).toBeGreaterThanOrEqual(0);
  });
});
