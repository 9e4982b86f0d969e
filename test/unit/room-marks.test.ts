// What a room host allows a member gateway of chat markers (bridge-protocol/rooms/room-marks.ts): each message
// once per member, a burst then the refill rate (past it: dropped, not cut), a bounded memory of what it marked.
import { expect, it } from 'vitest';
import { MemberMarks, TokenBucket } from '../../bridge-protocol/rooms/room-marks.js';

it('a token bucket gives its burst at once, then its rate', () => {
  const b = new TokenBucket(3, 2, 0);
  expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
  expect(b.take(400)).toBe(false);
  expect(b.take(500)).toBe(true);
  expect(b.take(10_000)).toBe(true);
});

it('a member marks each message once; past its rate a marker is dropped; the oldest ids are forgotten past the bound', () => {
  const m = new MemberMarks({ burst: 3, perSecond: 1, remembered: 2 }, 0);
  expect(m.accept('a', 0)).toBe(true);
  expect(m.accept('a', 0)).toBe(false);
  expect(m.accept('b', 0)).toBe(true);
  expect(m.accept('c', 0)).toBe(true);
  expect(m.accept('d', 0)).toBe(false);
  // A second later one more; 'a' is forgotten (two remembered: b, c), so it counts as new.
  expect(m.accept('a', 1000)).toBe(true);
  expect(m.accept('c', 5000)).toBe(false);
});
