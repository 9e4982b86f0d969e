// The reference room's lines (docs/rooms.md), the alias we answer fp2alias with, and MUC nicks for its members.
import { describe, expect, it } from 'vitest';
import { aliasForNick, parseRoomLine, roomStamp, roomVisible, splitRoomLines } from '../../bridge-protocol/index.js';
import { Occupants } from '../../gateway/features/support/muc-occupants.js';

describe('room lines', () => {
  it('reads tlsd-chat.sh lines: messages, joins, quits', () => {
    expect(parseRoomLine('09:05 alice[1234]: hello: world')).toEqual({ kind: 'message', hour: 9, minute: 5, name: 'alice[1234]', alias: 'alice', text: 'hello: world' });
    expect(parseRoomLine('23:59 * bob[7] joins')).toEqual({ kind: 'joins', hour: 23, minute: 59, name: 'bob[7]', alias: 'bob' });
    expect(parseRoomLine('00:00 * bob[7] quits\r')).toMatchObject({ kind: 'quits', name: 'bob[7]' });
    expect(parseRoomLine('12:00 bob[7]: ')).toMatchObject({ kind: 'message', text: '' });
  });
  it('tells fp2alias apart from members, and keeps anything else as it came', () => {
    expect(parseRoomLine('Enter your alias, please.')).toEqual({ kind: 'alias-question' });
    expect(parseRoomLine("The 'alice' alias is taken already.")).toMatchObject({ kind: 'refused' });
    expect(parseRoomLine("I don't recognize you.")).toMatchObject({ kind: 'refused' });
    for (const s of ['25:00 a[1]: x', '12:00 a: x', '12:00 * a[1] dances', 'hello', '12:00 [1]: x']) expect(parseRoomLine(s)).toEqual({ kind: 'other', text: s });
  });
  it('splits lines that arrived together, dropping empty ones', () => {
    expect(splitRoomLines('10:00 * a[1] joins\n\n10:00 a[1]: hi\n')).toEqual(['10:00 * a[1] joins', '10:00 a[1]: hi']);
  });
  it('answers fp2alias with [a-z0-9]{2,32} from any nick', () => {
    expect(aliasForNick('Alice')).toBe('alice');
    expect(aliasForNick('Zoë Smith-2')).toBe('zoesmith2');
    expect(aliasForNick('x')).toBe('xxmp');
    expect(aliasForNick('日本')).toBe('xmpp');
    expect(aliasForNick('a'.repeat(40))).toBe('a'.repeat(32));
  });
  it('deletes what tlsd-chat.sh deletes', () => {
    expect(roomVisible('a\u0001b\tc\u001fd\ne')).toBe('abcd\ne');
  });
  it('stamps only lines whose minute is more than a minute from now, on the nearest day', () => {
    const now = new Date('2026-12-03T10:30:40Z');
    expect(roomStamp(10, 30, now)).toBeUndefined();
    expect(roomStamp(10, 29, now)).toBeUndefined();
    expect(roomStamp(10, 31, now)).toBeUndefined();
    expect(roomStamp(10, 27, now)).toEqual(new Date('2026-12-03T10:27:00Z'));
    expect(roomStamp(23, 58, new Date('2026-12-03T00:02:00Z'))).toEqual(new Date('2026-12-02T23:58:00Z'));
  });
});

describe('occupant nicks', () => {
  it('the alias alone while nobody else holds it; the whole NAME for a second member with that alias', () => {
    const o = new Occupants();
    expect(o.setSelf('me[10]', 'me')).toBe('me');
    expect(o.add('alice[11]', 'alice')).toEqual({ nick: 'alice', added: true });
    expect(o.add('alice[11]', 'alice')).toEqual({ nick: 'alice', added: false });
    expect(o.add('alice[12]', 'alice')).toEqual({ nick: 'alice[12]', added: true });
    expect(o.add('me[13]', 'me')).toEqual({ nick: 'me[13]', added: true });
    expect(o.others().sort()).toEqual(['alice', 'alice[12]', 'me[13]']);
    expect(o.remove('alice[11]')).toBe('alice');
    expect(o.add('alice[14]', 'alice')).toEqual({ nick: 'alice', added: true });
    // Back after a drop: a new pid, the same nick.
    o.clear();
    expect(o.setSelf('me[20]', 'me')).toBe('me');
    expect(o.self).toBe('me');
  });
});
