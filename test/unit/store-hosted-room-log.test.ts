// The log of a room the gateway hosts (migration 12): bounded per room (the oldest go as the newest comes), in the
// order said, apart per room and per account, ids kept as given (once each), through a reopen, and gone with the room.
import { afterAll, expect, it } from 'vitest';
import { openStore } from '../../gateway/store/index.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(() => removeTmpDirs());

const FP = 'c'.repeat(64);
const entry = (id: string, at: number, text = `line ${id}`) => ({ id, at, name: 'carol[1]', alias: 'carol', fingerprint: FP, text });

it('keeps each room its last messages, oldest first, apart per room and per account, across a reopen', () => {
  const dir = tmpDir('tlsim-hosted-log');
  let store = openStore(dir);
  const me = store.accounts.ensure('me@localhost');
  const other = store.accounts.ensure('other@localhost');
  for (const [acc, room] of [[me, 'party'], [me, 'club'], [other, 'party']] as const) store.hostedRooms.create(acc, room, 'open', 'KEY', 'CERT');

  // Times out of order on purpose: the log's order is the order said, not the stamps.
  [5, 3, 9, 1, 7].forEach((t, i) => store.hostedRoomLog.append(me, 'party', entry(`e-${i}`, t), 3));
  store.hostedRoomLog.append(me, 'club', entry('k-0', 1), 3);
  store.hostedRoomLog.append(other, 'party', { ...entry('o-0', 2), echo: 'their-1' }, 3);
  // An id the room already logged is kept once (and does not push anything out).
  store.hostedRoomLog.append(me, 'party', entry('e-4', 7, 'again'), 3);

  const ids = (acc: number, room: string, limit = 10) => store.hostedRoomLog.load(acc, room, limit).map((e) => e.id);
  expect(ids(me, 'party')).toEqual(['e-2', 'e-3', 'e-4']);
  expect(ids(me, 'party', 2)).toEqual(['e-3', 'e-4']);
  expect(ids(me, 'club')).toEqual(['k-0']);
  expect(store.hostedRoomLog.load(other, 'party', 10)).toEqual([{ ...entry('o-0', 2), echo: 'their-1' }]);
  expect(store.hostedRoomLog.load(me, 'party', 1)).toEqual([entry('e-4', 7)]);

  store.close();
  store = openStore(dir);
  expect(ids(me, 'party')).toEqual(['e-2', 'e-3', 'e-4']);
  // A smaller bound on the next append trims the older ones in the same step.
  store.hostedRoomLog.append(me, 'party', entry('e-5', 11), 2);
  expect(ids(me, 'party')).toEqual(['e-4', 'e-5']);
  // The log goes with its room.
  store.hostedRooms.remove(me, 'party');
  expect(ids(me, 'party')).toEqual([]);
  expect(ids(other, 'party')).toEqual(['o-0']);
  store.close();
});

it("a room's log written in a group commit is there after it commits, and the bound holds within one group", () => {
  const store = openStore(tmpDir('tlsim-hosted-log-group'));
  const me = store.accounts.ensure('me@localhost');
  store.hostedRooms.create(me, 'party', 'open', 'KEY', 'CERT');
  for (let i = 0; i < 50; i++) store.group.run(() => store.hostedRoomLog.append(me, 'party', entry(`g-${i}`, i), 20));
  expect(store.group.open).toBe(true);
  store.group.commitNow();
  const kept = store.hostedRoomLog.load(me, 'party', 100);
  expect(kept.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => `g-${i + 30}`));
  store.close();
});

it("pages a hosted room's log as a member's archive is paged (XEP-0313 on the room): by id both ways, by time, apart per room", () => {
  const store = openStore(tmpDir('tlsim-hosted-log-pages'));
  const me = store.accounts.ensure('me@localhost');
  store.hostedRooms.create(me, 'party', 'open', 'KEY', 'CERT');
  store.hostedRooms.create(me, 'club', 'open', 'KEY', 'CERT');
  expect(store.hostedRoomLog.holds(me, 'party')).toBe(false);
  // Two in the same millisecond: the order said breaks the tie.
  [10, 20, 20, 30, 40].forEach((t, i) => store.hostedRoomLog.append(me, 'party', entry(`p-${i}`, t), 100));
  store.hostedRoomLog.append(me, 'club', entry('c-0', 25), 100);
  expect(store.hostedRoomLog.holds(me, 'party')).toBe(true);
  const ids = (p: { entries: { id: string }[] }) => p.entries.map((e) => e.id);

  const first = store.hostedRoomLog.query(me, 'party', { limit: 2 });
  expect(first).toMatchObject({ more: true, total: 5 });
  expect(first.entries[0]).toEqual({ id: 'p-0', nick: 'carol', text: 'line p-0', stamp: new Date(10) });
  expect(ids(store.hostedRoomLog.query(me, 'party', { limit: 2, afterId: 'p-1' }))).toEqual(['p-2', 'p-3']);
  expect(ids(store.hostedRoomLog.query(me, 'party', { limit: 10, beforeId: 'p-3', reverse: true }))).toEqual(['p-2', 'p-1', 'p-0']);
  expect(store.hostedRoomLog.query(me, 'party', { limit: 10, start: new Date(20), end: new Date(30) })).toMatchObject({ total: 3, more: false });
  expect(ids(store.hostedRoomLog.query(me, 'party', { limit: 10, ids: ['p-4', 'c-0'] }))).toEqual(['p-4']);
  expect(() => store.hostedRoomLog.query(me, 'party', { limit: 2, afterId: 'c-0' })).toThrow(/no message c-0/);
  store.close();
});
