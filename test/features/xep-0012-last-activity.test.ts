// Last activity dialogue: the server reports its uptime (XEP-0012 §5).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

const LAST = 'jabber:iq:last';

describe('last activity', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await startTestGateway();
  });
  afterEach(() => gw.stop());

  it('gives the server uptime in seconds', async () => {
    const me = await gw.login();
    const q = (await me.iq(`<query xmlns='${LAST}'/>`, { to: gw.domain })).getChild('query', LAST)!;
    expect(Number(q.attrs.seconds)).toBeGreaterThanOrEqual(0);
  });
});
