// What the reference chat room (TLSd's sample chat: tlsd + fp2alias + tlsd-chat.sh + ncat --broker) writes,
// line by line, and what a member answers to fp2alias (docs/rooms.md). Pure: no sockets, timers or logging.

/** fp2alias's question to a member whose fingerprint it does not know (`puts`, so LF-terminated). */
export const ALIAS_QUESTION = 'Enter your alias, please.';
/** fp2alias without -a, to an unknown member; the connection ends. */
export const NOT_RECOGNIZED = "I don't recognize you.";
/** fp2alias reads the alias with `scanf("%32[a-z0-9]")`; shorter than 2 ends the connection. */
export const ALIAS_PATTERN = /^[a-z0-9]{2,32}$/;

/**
 * One line the room sent. `name` is the member's NAME as tlsd-chat.sh writes it, `${ALIAS}[$$]`: the alias
 * and the pid of its shell (the same alias twice at once is two names). `hour`/`minute`: `date -u +%R`.
 */
export type RoomLine =
  | { kind: 'message'; hour: number; minute: number; name: string; alias: string; text: string }
  | { kind: 'joins' | 'quits'; hour: number; minute: number; name: string; alias: string }
  /** fp2alias asks for our alias. */
  | { kind: 'alias-question' }
  /** fp2alias refused us: the alias is taken, or we are not known and the room adds nobody. */
  | { kind: 'refused'; text: string }
  /** Anything else (a room that is not tlsd-chat.sh, a line cut by a limit): shown as it came. */
  | { kind: 'other'; text: string };

// An alias in fp2alias's file may have been written by hand: anything without blanks, brackets or colons.
const NAME = String.raw`([^\s[\]:]{1,64})\[(\d{1,10})\]`;
const TIME = String.raw`([01]\d|2[0-3]):([0-5]\d)`;
const MESSAGE = new RegExp(`^${TIME} ${NAME}: (.*)$`, 's');
const EVENT = new RegExp(`^${TIME} \\* ${NAME} (joins|quits)$`);
const TAKEN = /^The '[^']*' alias is taken already\.$/;

/** One line (without its LF; a trailing CR is ignored) as the room meant it. */
export function parseRoomLine(line: string): RoomLine {
  const s = line.endsWith('\r') ? line.slice(0, -1) : line;
  const ev = EVENT.exec(s);
  if (ev) {
    return { kind: ev[5] as 'joins' | 'quits', hour: Number(ev[1]), minute: Number(ev[2]), name: `${ev[3]}[${ev[4]}]`, alias: ev[3]! };
  }
  const m = MESSAGE.exec(s);
  if (m) return { kind: 'message', hour: Number(m[1]), minute: Number(m[2]), name: `${m[3]}[${m[4]}]`, alias: m[3]!, text: m[5]! };
  if (s === ALIAS_QUESTION) return { kind: 'alias-question' };
  if (s === NOT_RECOGNIZED || TAKEN.test(s)) return { kind: 'refused', text: s };
  return { kind: 'other', text: s };
}

/**
 * The lines of one received message: the line codec groups lines that arrive together, and the room writes
 * one line per member line, so each is parsed alone. Empty lines carry nothing and are dropped.
 */
export function splitRoomLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && l !== '\r');
}

/**
 * The alias we answer fp2alias with, from a nick: lowercased, only [a-z0-9] kept (accents dropped first:
 * "Zoë" is "zoe"), at most 32; shorter than 2 is padded from "xmpp" so that any nick gives a valid alias.
 */
export function aliasForNick(nick: string): string {
  const plain = nick.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 32);
  if (plain.length >= 2) return plain;
  return (plain + 'xmpp').slice(0, 4);
}

/**
 * What tlsd-chat.sh deletes from a member's line before relaying it (`tr -d '\000-\011\013-\037'`): what the
 * other members will read of our text.
 */
export function roomVisible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0009\u000b-\u001f]/g, '');
}

/** How far a room's stamp may be from our clock before it is shown as a delay (the room has minutes only). */
export const STAMP_TOLERANCE_MS = 60_000;

/**
 * When a line stamped HH:MM (UTC, no date) was written, if that differs from `now` by more than a minute;
 * undefined when it is "now". The date is the one that puts the stamp nearest to now (a line from 23:59
 * read at 00:01 is from yesterday).
 */
export function roomStamp(hour: number, minute: number, now: Date): Date | undefined {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const at = day + (hour * 60 + minute) * 60_000;
  const DAY = 24 * 60 * 60_000;
  const candidates = [at - DAY, at, at + DAY];
  const best = candidates.reduce((a, b) => (Math.abs(b - now.getTime()) < Math.abs(a - now.getTime()) ? b : a));
  // Minutes against minutes: the room writes the minute it is in, so a line of this minute or the last is on time.
  const nowMinute = Math.floor(now.getTime() / 60_000) * 60_000;
  if (Math.abs(nowMinute - best) <= STAMP_TOLERANCE_MS) return undefined;
  return new Date(best);
}
