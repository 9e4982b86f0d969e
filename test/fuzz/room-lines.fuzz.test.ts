// Fuzzing the reference room's line parser (bridge-protocol/wire/room-lines.ts): any text parses to one of its kinds
// without throwing; the lines tlsd-chat.sh writes read back to what was written; aliases and stamps stay in range.
import fc from 'fast-check';
import { ALIAS_PATTERN, aliasForNick, parseRoomLine, roomStamp, splitRoomLines } from '../../bridge-protocol/index.js';
import { fuzzTarget } from './support.js';

const alias = fc.stringMatching(/^[a-z0-9]{2,32}$/);
const hhmm = fc.record({ hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }) });
const pad = (n: number) => String(n).padStart(2, '0');
const PIECES = ['12:34', ' ', '* ', 'joins', 'quits', '[', ']', '123', ': ', ':', 'alice', '\r', '\n', 'Enter your alias, please.', "The 'x' alias is taken already.", '\u0000', 'é'];
const garbage = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PIECES) }, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 12 }).map((p) => p.join(''));

fuzzTarget('room-lines', (t) => {
  t.property('what tlsd-chat.sh writes parses back: messages', [hhmm, alias, fc.nat(99999), fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !/[\n\r]/.test(s))], ({ hour, minute }, a, pid, text) => {
    const l = parseRoomLine(`${pad(hour)}:${pad(minute)} ${a}[${pid}]: ${text}`);
    return l.kind === 'message' && l.hour === hour && l.minute === minute && l.name === `${a}[${pid}]` && l.alias === a && l.text === text;
  }, { runs: 2000 });

  t.property('what tlsd-chat.sh writes parses back: joins and quits', [hhmm, alias, fc.nat(99999), fc.constantFrom('joins', 'quits')], ({ hour, minute }, a, pid, what) => {
    const l = parseRoomLine(`${pad(hour)}:${pad(minute)} * ${a}[${pid}] ${what}`);
    return l.kind === what && l.name === `${a}[${pid}]` && l.alias === a;
  }, { runs: 1000 });

  t.property('any text: one of the kinds, never a throw; "other" keeps the line as it came', [garbage], (text) => {
    for (const line of splitRoomLines(text)) {
      const l = parseRoomLine(line);
      if (!['message', 'joins', 'quits', 'alias-question', 'refused', 'other'].includes(l.kind)) return false;
      if (l.kind === 'other' && l.text !== line.replace(/\r$/, '')) return false;
      if ((l.kind === 'message' || l.kind === 'joins' || l.kind === 'quits') && (l.hour > 23 || l.minute > 59 || !l.name.startsWith(l.alias))) return false;
      if (line.includes('\n')) return false;
    }
    return true;
  }, { runs: 3000 });

  t.property('any nick gives an alias fp2alias takes', [fc.string({ unit: 'binary', maxLength: 50 })], (nick) => ALIAS_PATTERN.test(aliasForNick(nick)), { runs: 2000 });

  t.property('a stamp, when there is one, is more than a minute from now and within a day', [hhmm, fc.integer({ min: 0, max: 4_000_000_000_000 })], ({ hour, minute }, ms) => {
    const now = new Date(ms);
    const s = roomStamp(hour, minute, now);
    if (!s) return true;
    const d = Math.abs(s.getTime() - Math.floor(ms / 60_000) * 60_000);
    return d > 60_000 && d <= 12 * 3600_000 && s.getUTCHours() === hour && s.getUTCMinutes() === minute;
  }, { runs: 2000 });
});
