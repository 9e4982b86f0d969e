// Entity time dialogue (XEP-0202).
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const TIME = 'urn:xmpp:time';

describe('entity time', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('gives the server time in UTC and its offset', async () => {
    const me = await gw.login();
    const t = (await me.iq(`<time xmlns='${TIME}'/>`, { to: gw.domain })).getChild('time', TIME)!;
    expect(t.getChildText('tzo')).toMatch(/^[+-]\d\d:\d\d$/);
    const utc = t.getChildText('utc')!;
    expect(utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(utc) - Date.now())).toBeLessThan(60_000);
  });
});
