// Avatar dialogues (XEP-0084 over PEP): a client publishes data then metadata; the user's other
// clients that want metadata hear of it, fetch the data by id, and see it again at their next login.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { isEvent, items, itemsOf, loginWithCaps, publish, PUBSUB_EVENT } from '../support/pep-dialogue.js';
import type { TestGateway } from '../support/xmpp-harness.js';

const DATA = 'urn:xmpp:avatar:data';
const META = 'urn:xmpp:avatar:metadata';
// A 1x1 PNG, and its SHA-1 as XEP-0084 names the item.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const SHA1 = createHash('sha1').update(Buffer.from(PNG, 'base64')).digest('hex');

describe('avatars', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('publishes data and metadata; metadata reaches clients that want it, which then fetch the data', async () => {
    const phone = await loginWithCaps(gw, 'phone', [META]);
    const laptop = await loginWithCaps(gw, 'laptop', [META, 'urn:xmpp:bookmarks:1']);
    const open = { 'pubsub#access_model': 'open' };
    expect((await phone.iq(publish(DATA, `<data xmlns='${DATA}'>${PNG}</data>`, { id: SHA1, options: open }), { type: 'set' })).attrs.type).toBe('result');
    const meta = `<metadata xmlns='${META}'><info bytes='${Buffer.from(PNG, 'base64').length}' id='${SHA1}' height='1' width='1' type='image/png'/></metadata>`;
    expect((await phone.iq(publish(META, meta, { id: SHA1, options: open }), { type: 'set' })).attrs.type).toBe('result');

    const ev = await laptop.next(isEvent(META));
    const info = ev.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('item')!.getChild('metadata', META)!.getChild('info')!;
    expect(info.attrs).toMatchObject({ id: SHA1, type: 'image/png' });
    // Nobody asked for data notifications: the data is fetched by id.
    await laptop.sync();
    expect(laptop.received.some(isEvent(DATA))).toBe(false);
    const data = itemsOf(await laptop.iq(items(DATA, { ids: [SHA1] })));
    expect(data[0]!.getChild('data', DATA)!.text()).toBe(PNG);

    const tablet = await loginWithCaps(gw, 'tablet', [META]);
    const again = await tablet.next(isEvent(META));
    expect(again.getChild('event', PUBSUB_EVENT)!.getChild('items')!.getChild('item')!.attrs.id).toBe(SHA1);
  });

  it('takes the avatar away with empty metadata, as XEP-0084 §4.2 has clients do', async () => {
    const me = await gw.login();
    await me.iq(publish(META, `<metadata xmlns='${META}'><info bytes='${Buffer.from(PNG, 'base64').length}' id='${SHA1}' type='image/png'/></metadata>`, { id: SHA1 }), { type: 'set' });
    await me.iq(publish(META, `<metadata xmlns='${META}'/>`, { id: 'current' }), { type: 'set' });
    const now = itemsOf(await me.iq(items(META)));
    expect(now.map((i) => i.attrs.id)).toEqual(['current']);
    expect(now[0]!.getChild('metadata', META)!.elements()).toHaveLength(0);
  });
});
