// The store's box of stanzas for offline users: kept in order, capped (oldest first, counted),
// handed out once, per account, gone with the account, and there again after reopening, with the count of
// what the cap dropped.
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../gateway/store/index.js';
import { storeOfflineBox } from '../../gateway/xmpp/offline-box.js';
import { silentLogger } from '../../gateway/xmpp/log.js';
import { x } from '../../gateway/xmpp/xml/element.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(() => removeTmpDirs());

describe('undelivered stanzas', () => {
  it('keeps them per account in order, drops the oldest beyond the limit, survives reopening, hands them out once', () => {
    const dir = tmpDir('undelivered');
    let store = openStore(dir);
    const alice = store.accounts.ensure('alice@example.org');
    const bob = store.accounts.ensure('bob@example.org');
    const box = storeOfflineBox(store, alice, silentLogger(), 3);
    const msg = (n: number) =>
      x('message', { type: 'chat', from: 'p@peers', to: 'alice@example.org' }, x('body', null, `m${n} <&>`), x('delay', { xmlns: 'urn:xmpp:delay', stamp: '2026-01-01T00:00:00.000Z' }));
    expect([1, 2, 3].map((n) => box.keep(msg(n)))).toEqual([0, 0, 0]);
    expect(box.keep(msg(4))).toBe(1);
    storeOfflineBox(store, bob, silentLogger()).keep(msg(9));
    store.close();

    store = openStore(dir);
    // What the limit dropped is told at the next login even after a restart (or a crash), once.
    expect(storeOfflineBox(store, alice, silentLogger()).takeDropped()).toBe(1);
    expect(storeOfflineBox(store, alice, silentLogger()).takeDropped()).toBe(0);
    expect(storeOfflineBox(store, bob, silentLogger()).takeDropped()).toBe(0);
    const back = storeOfflineBox(store, alice, silentLogger()).takeAll();
    expect(back.map((m) => m.getChildText('body'))).toEqual(['m2 <&>', 'm3 <&>', 'm4 <&>']);
    // Read back as it went in: no namespace on the stanza (the stream's default), the delay's own kept.
    expect(back[0]!.attrs).toEqual({ type: 'chat', from: 'p@peers', to: 'alice@example.org' });
    expect(back[0]!.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp).toBe('2026-01-01T00:00:00.000Z');
    expect(storeOfflineBox(store, alice, silentLogger()).takeAll()).toEqual([]);
    expect(store.undelivered.countFor(bob)).toBe(1);
    store.accounts.remove(bob);
    expect(store.undelivered.countFor(bob)).toBe(0);
    store.close();
  });
});
