// The store's PEP nodes, items and documents: per account, items in publication order and capped by
// the node's max_items, node configuration changes applied to what is kept, limits with clear errors,
// gone with the account, there again after reopening.
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, StoreError } from '../../gateway/store/index.js';
import { memoryUserData, storeUserData } from '../../gateway/xmpp/user-data.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(() => removeTmpDirs());

const item = (id: string, text = id) => ({ id, payload: `<p xmlns='x:p'>${text}</p>`, publisher: 'me@localhost/a' });
const ids = (list: Array<{ id: string }>) => list.map((i) => i.id);

describe('PEP store', () => {
  it('keeps items per account and node, oldest first, trims to max_items, moves a republished id last', () => {
    const dir = tmpDir('pep');
    let store = openStore(dir);
    const alice = storeUserData(store, store.accounts.ensure('alice@example.org'));
    const bob = storeUserData(store, store.accounts.ensure('bob@example.org'));
    expect(alice.createNode('n', { accessModel: 'presence', maxItems: 2, persistItems: true })).toBe(true);
    expect(alice.createNode('n', { accessModel: 'open', maxItems: 9, persistItems: true })).toBe(false);
    expect(alice.publish('n', item('a'))).toEqual([]);
    alice.publish('n', item('b'));
    expect(alice.publish('n', item('c'))).toEqual(['a']);
    alice.publish('n', item('b', 'b2'));
    expect(ids(alice.items('n'))).toEqual(['c', 'b']);
    expect(alice.items('n', { max: 1 }).map((i) => i.payload)).toEqual([`<p xmlns='x:p'>b2</p>`]);
    expect(ids(alice.items('n', { ids: ['c', 'zz'] }))).toEqual(['c']);
    expect(bob.nodes()).toEqual([]);
    store.close();

    store = openStore(dir);
    const again = storeUserData(store, store.accounts.ensure('alice@example.org'));
    expect(again.node('n')).toEqual({ accessModel: 'presence', maxItems: 2, persistItems: true });
    expect(ids(again.items('n'))).toEqual(['c', 'b']);
    expect(again.items('n')[0]!.publisher).toBe('me@localhost/a');
    store.accounts.remove(store.accounts.ensure('alice@example.org'));
    expect(again.nodes()).toEqual([]);
    store.close();
  });

  it('applies a new configuration to the items kept', () => {
    const data = memoryUserData();
    data.createNode('n', { accessModel: 'presence', maxItems: 5, persistItems: true });
    for (const id of ['a', 'b', 'c']) data.publish('n', item(id));
    expect(data.configure('n', { accessModel: 'whitelist', maxItems: 1, persistItems: true })).toEqual(['b', 'a']);
    expect(ids(data.items('n'))).toEqual(['c']);
    expect(data.configure('n', { accessModel: 'whitelist', maxItems: 1, persistItems: false })).toEqual(['c']);
    // A node that does not persist items keeps none.
    expect(data.publish('n', item('d'))).toEqual([]);
    expect(data.items('n')).toEqual([]);
    expect(data.retract('n', 'd')).toBe(false);
    expect(data.deleteNode('n')).toBe(true);
    expect(data.deleteNode('n')).toBe(false);
  });

  it('refuses what is over the limits, saying so', () => {
    const data = memoryUserData({ maxNodes: 2, maxItemsPerNode: 3, maxPayloadBytes: 50, maxDocuments: 1, maxDocumentBytes: 40 });
    data.createNode('a', { accessModel: 'open', maxItems: 1000, persistItems: true });
    expect(data.node('a')!.maxItems).toBe(3);
    data.createNode('b', { accessModel: 'open', maxItems: 1, persistItems: true });
    expect(() => data.createNode('c', { accessModel: 'open', maxItems: 1, persistItems: true })).toThrow(/at most 2 PEP nodes/);
    expect(() => data.publish('a', item('big', 'x'.repeat(60)))).toThrow(StoreError);
    data.setDocument('doc', '<a/>');
    data.setDocument('doc', '<b/>');
    expect(data.document('doc')).toBe('<b/>');
    expect(() => data.setDocument('other', '<c/>')).toThrow(/at most 1 documents/);
    expect(() => data.setDocument('doc', `<a>${'x'.repeat(40)}</a>`)).toThrow(/over the limit/);
  });
});
