// The core's iq requests to the user's clients (FeatureContext.request, used by PEP to learn a
// client's +notify caps): the client's reply resolves the request and goes nowhere else; a client
// that does not answer makes it fail after its timeout, and the stream goes on.
import { describe, expect, it } from 'vitest';
import { features } from '../../gateway/features/index.js';
import type { Feature } from '../../gateway/xmpp/feature.js';
import type { SessionInfo } from '../../gateway/xmpp/hooks.js';
import { x, type Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const outcomes: Array<{ reply?: Element; error?: string }> = [];
const asker: Feature = {
  name: 'asker',
  setup(ctx) {
    ctx.on('initial-presence', (session: SessionInfo) => {
      ctx
        .request(session, x('iq', { type: 'get' }, x('query', { xmlns: 'jabber:iq:version' })), 300)
        .then((reply) => outcomes.push({ reply }))
        .catch((err: Error) => outcomes.push({ error: err.message }));
    });
  },
};
const isVersionGet = (el: Element) => el.name === 'iq' && el.attrs.type === 'get' && !!el.getChild('query', 'jabber:iq:version');

describe('requests to clients', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d), { features: [...features, asker] });

  it("hands the client's reply to the asking feature, and nothing back to the client", async () => {
    outcomes.length = 0;
    const me = await gw.login({ presence: false });
    me.send('<presence/>');
    const get = await me.next(isVersionGet);
    expect(get.attrs.to).toBe(me.jid);
    me.send(`<iq type='result' id='${get.attrs.id}'><query xmlns='jabber:iq:version'><name>test client</name></query></iq>`);
    await expect.poll(() => outcomes.length).toBe(1);
    expect(outcomes[0]!.reply!.getChild('query', 'jabber:iq:version')!.getChildText('name')).toBe('test client');
    await me.sync();
    expect(me.received.some((el) => el.name === 'iq' && el.attrs.id === get.attrs.id && el.attrs.type === 'error')).toBe(false);
  });

  it('fails the request when the client never answers, and the session carries on', async () => {
    outcomes.length = 0;
    const me = await gw.login({ presence: false });
    me.send('<presence/>');
    await me.next(isVersionGet);
    await expect.poll(() => outcomes.length, { timeout: 5000 }).toBe(1);
    expect(outcomes[0]!.error).toMatch(/no reply/);
    await me.sync();
  });
});
