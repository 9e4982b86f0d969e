// What the user keeps on the gateway survives a restart: the roster version (a client with a cached
// roster gets an empty result), PEP items and node configuration (avatars, bookmarks), private
// storage and the user's own vCard. Two gateways, one after the other, on one store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { openStore, type Store } from '../../gateway/store/index.js';
import { storeUserData } from '../../gateway/xmpp/user-data.js';
import { ROSTER } from '../support/feature-dialogue.js';
import { items, itemsOf, publish } from '../support/pep-dialogue.js';
import { startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

const AVATAR_META = 'urn:xmpp:avatar:metadata';

describe('a restart', () => {
  let dir: string;
  let store: Store;
  let fake: FakePeerNetwork;
  const running: TestGateway[] = [];
  const start = async () => {
    const gw = await startTestGateway({ network: fake, server: { userData: storeUserData(store, store.accounts.ensure('me@localhost')) } });
    running.push(gw);
    return gw;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsim-restart-'));
    store = openStore(dir);
    fake = new FakePeerNetwork();
  });
  afterEach(async () => {
    for (const gw of running.splice(0)) await gw.stop();
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the roster version: the cached roster is still current, and one change makes a new version', async () => {
    fake.addFakeContact({ name: 'Alice' });
    const first = await start();
    const me = await first.login();
    const ver = (await me.iq(`<query xmlns='${ROSTER}' ver=''/>`)).getChild('query', ROSTER)!.attrs.ver!;
    await first.stop();

    const second = await start();
    const again = await second.login();
    const same = await again.iq(`<query xmlns='${ROSTER}' ver='${ver}'/>`);
    expect(same.attrs.type).toBe('result');
    expect(same.getChild('query', ROSTER)?.getChildren('item') ?? []).toHaveLength(0);

    const bob = fake.addFakeContact({ name: 'Bob' });
    await fake.renameContact(bob.id, 'Bobby');
    const changed = await again.iq(`<query xmlns='${ROSTER}' ver='${ver}'/>`);
    expect(changed.getChild('query', ROSTER)!.attrs.ver).not.toBe(ver);
    const names = changed.getChild('query', ROSTER)!.getChildren('item').map((i) => i.attrs.name);
    expect(names).toEqual(expect.arrayContaining(['Alice', 'Bobby']));
  });

  it('keeps PEP items and node configuration, private storage and the own vCard', async () => {
    const first = await start();
    const me = await first.login();
    const meta = `<metadata xmlns='${AVATAR_META}'><info bytes='3' id='abc' type='image/png'/></metadata>`;
    await me.iq(publish(AVATAR_META, meta, { id: 'abc', options: { 'pubsub#access_model': 'open' } }), { type: 'set' });
    await me.iq(`<query xmlns='jabber:iq:private'><prefs xmlns='x:client:prefs'><theme>dark</theme></prefs></query>`, { type: 'set' });
    await me.iq(`<vCard xmlns='vcard-temp'><FN>Me Myself</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0K</BINVAL></PHOTO></vCard>`, { type: 'set' });
    await first.stop();

    const second = await start();
    const again = await second.login();
    const got = itemsOf(await again.iq(items(AVATAR_META)));
    expect(got.map((i) => i.getChild('metadata', AVATAR_META)!.getChild('info')!.attrs.id)).toEqual(['abc']);
    // The node is still "open": publishing with that option again is no conflict.
    const republish = await again.iq(publish(AVATAR_META, meta, { id: 'abc', options: { 'pubsub#access_model': 'open' } }), { type: 'set' });
    expect(republish.attrs.type).toBe('result');
    const prefs = await again.iq(`<query xmlns='jabber:iq:private'><prefs xmlns='x:client:prefs'/></query>`);
    expect(prefs.getChild('query')!.getChild('prefs', 'x:client:prefs')!.getChildText('theme')).toBe('dark');
    const vcard = (await again.iq(`<vCard xmlns='vcard-temp'/>`)).getChild('vCard', 'vcard-temp')!;
    expect(vcard.getChildText('FN')).toBe('Me Myself');
    expect(vcard.getChild('PHOTO')!.getChildText('BINVAL')).toBe('iVBORw0K');
  });
});
