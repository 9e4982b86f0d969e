// Software version dialogue (XEP-0092).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const VERSION = 'jabber:iq:version';

describe('software version', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('names the gateway and the version in package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const me = await gw.login();
    const q = (await me.iq(`<query xmlns='${VERSION}'/>`, { to: gw.domain })).getChild('query', VERSION)!;
    expect(q.getChildText('name')).toBe('tlsim-gateway');
    expect(q.getChildText('version')).toBe(pkg.version);
  });
});
