// The members' latest room markers that a client joining later reads (gateway/features/support/room-markers.ts).
import { describe, expect, it } from 'vitest';
import { LatestRoomMarks } from '../../gateway/features/support/room-markers.js';

describe('LatestRoomMarks', () => {
  it('keeps the latest marker of each kind per member, the most recently marking member last', () => {
    const marks = new LatestRoomMarks();
    marks.note('anna', { marker: 'received', id: 'm1' });
    marks.note('bert', { marker: 'displayed', id: 'm1' });
    marks.note('anna', { marker: 'displayed', id: 'm2' });
    marks.note('anna', { marker: 'received', id: 'm3' });
    expect([...marks.latest()]).toEqual([
      { nick: 'bert', marker: 'displayed', id: 'm1' },
      { nick: 'anna', marker: 'received', id: 'm3' },
      { nick: 'anna', marker: 'displayed', id: 'm2' },
    ]);
  });

  it('forgets the member that marked longest ago once 200 members have marked', () => {
    const marks = new LatestRoomMarks();
    for (let i = 0; i < 201; i++) marks.note(`m${i}`, { marker: 'displayed', id: `x${i}` });
    const nicks = [...marks.latest()].map((m) => m.nick);
    expect(nicks).toHaveLength(200);
    expect(nicks[0]).toBe('m1');
    expect(nicks.at(-1)).toBe('m200');
  });
});
