// Local mode, the real daemon and its store: what a client keeps on the gateway (a PEP avatar,
// bookmarks written the XEP-0048 way, the user's vCard) is there after a restart, in the shape
// other clients read it (XEP-0402 items for the bookmarks).
import xml from '@xmpp/xml';
import { afterAll, expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { removeTmpDirs } from '../support/identities.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { xmppObserver } from './support/users.js';

const PUBSUB = 'http://jabber.org/protocol/pubsub';
const META = 'urn:xmpp:avatar:metadata';
const running: E2eGateway[] = [];
const clients: XmppJsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await Promise.all(running.map((g) => g.stop()));
  removeTmpDirs();
});

it('keeps PEP items, bookmarks and the own vCard across a gateway restart', async () => {
  const gw = await startInProcessGateway();
  running.push(gw);
  const before = await xmppObserver(gw, 'before');
  clients.push(before);
  await before.iq(
    'set',
    xml('pubsub', { xmlns: PUBSUB }, xml('publish', { node: META }, xml('item', { id: 'abc' }, xml('metadata', { xmlns: META }, xml('info', { id: 'abc', bytes: '3', type: 'image/png' }))))),
  );
  await before.iq(
    'set',
    xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: 'storage:bookmarks' }, xml('conference', { jid: 'tea@muc.example.org', name: 'Tea', autojoin: 'true' }))),
  );
  await before.iq('set', xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Me Myself')));
  await before.stop();
  await gw.stop();
  running.splice(running.indexOf(gw), 1);

  const again = await startInProcessGateway({ dataDir: gw.dataDir });
  running.push(again);
  const after = await xmppObserver(again, 'after');
  clients.push(after);
  const meta = await after.iq('get', xml('pubsub', { xmlns: PUBSUB }, xml('items', { node: META })));
  expect(meta.getChild('items')!.getChildren('item').map((i) => i.attrs.id)).toEqual(['abc']);
  const bookmarks = await after.iq('get', xml('pubsub', { xmlns: PUBSUB }, xml('items', { node: 'urn:xmpp:bookmarks:1' })));
  const item = bookmarks.getChild('items')!.getChild('item')!;
  expect(item.attrs.id).toBe('tea@muc.example.org');
  expect(item.getChild('conference', 'urn:xmpp:bookmarks:1')!.attrs).toMatchObject({ name: 'Tea', autojoin: 'true' });
  const vcard = await after.iq('get', xml('vCard', { xmlns: 'vcard-temp' }));
  expect(vcard.getChildText('FN')).toBe('Me Myself');
}, 60_000);
