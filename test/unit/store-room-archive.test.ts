// The member side's room archive (MAM on a room JID): pages in (stamp, id) order with exclusive id bounds,
// both directions, and an unknown id refused; the same bounds as the one-to-one archive.
import { afterAll, expect, it } from 'vitest';
import { openStore, StoreError } from '../../gateway/store/index.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(() => removeTmpDirs());

it('pages a room by id bounds, forwards and backwards, same-stamp messages in order, and refuses an unknown id', () => {
  const store = openStore(tmpDir('tlsim-room-archive'));
  const acc = store.accounts.ensure('me@localhost');
  const room = 'party@conference.localhost';
  const at = new Date('2026-12-03T10:00:00Z');
  // r2 and r3 share a stamp: their order is the order they were kept.
  const stamps = [0, 1000, 1000, 2000, 3000];
  stamps.forEach((ms, i) => store.roomArchive.add(acc, room, { id: `r${i}`, nick: 'carol', text: `line ${i}`, stamp: new Date(at.getTime() + ms) }));
  expect(store.roomArchive.add(acc, room, { id: 'r1', nick: 'carol', text: 'again', stamp: at })).toBe(false);
  store.roomArchive.add(acc, 'other@conference.localhost', { id: 'x', nick: 'dan', text: 'elsewhere', stamp: at });

  const ids = (page: { entries: { id: string }[] }) => page.entries.map((e) => e.id);
  const first = store.roomArchive.query(acc, room, { limit: 2 });
  expect(ids(first)).toEqual(['r0', 'r1']);
  expect(first).toMatchObject({ more: true, total: 5 });
  expect(ids(store.roomArchive.query(acc, room, { limit: 2, afterId: 'r1' }))).toEqual(['r2', 'r3']);
  expect(ids(store.roomArchive.query(acc, room, { limit: 10, afterId: 'r2' }))).toEqual(['r3', 'r4']);
  expect(ids(store.roomArchive.query(acc, room, { limit: 2, beforeId: 'r3', reverse: true }))).toEqual(['r2', 'r1']);
  expect(store.roomArchive.query(acc, room, { limit: 10, afterId: 'r4' })).toMatchObject({ entries: [], more: false });
  expect(() => store.roomArchive.query(acc, room, { limit: 2, afterId: 'nope' })).toThrow(StoreError);
  store.close();
});
