// Room frames between two gateways on a room connection (ALPN x-tlsim-room/1; docs/rooms.md "Between gateways"):
// occupants as presence, history with the original times, stable message ids, a member's own message echoed
// with its id. The framing is wire/link-frames.ts's (type-byte JSON-object LF, one codec, the same limits);
// these are the kinds on a connection that negotiated x-tlsim-room/1, where the type bytes mean:
//   0xF5 join      member → host, first  {"alias":"bob", "after":"<room id>"?, "history":N?}
//                  after: the last room message id the member saw (it reconnects): what followed it, no more;
//                  history: the last N messages said (0..MAX_ROOM_HISTORY); with after, those as well as what
//                  followed it (a member that keeps fewer than its client asked for; a redial sends after alone)
//   0xF6 welcome   host → member         {"name":"bob[3]","alias":"bob"} in, or {"refused":"<why>"} and the end
//   0xF7 presence  host → member         {"name","alias","present":true|false,"at":<ms since the epoch>}
//                  before the welcome: who is there; after it: joins and leaves
//   The host answers a join with: presence of everyone there, the history asked for (said, history:true), then
//   the welcome (so the member knows where history ends: a MUC sends its subject there).
//   0xF8 say       member → host         {"id":"<member's id>","text":"..."}   text may hold LFs (one message)
//   0xF9 said      host → member         {"id":"<room id>","name","alias","text","at", "echo":"<say id>"?, "history":true?}
//                  echo: the member's own say (sent to it only); history: said before this connection joined
//   0xFA mark      member → host         {"id":"<room id>","marker":"displayed"|"received"|"acknowledged"}
//                  a user's client marked the room's message (XEP-0333 in a MUC: the room's stanza-id)
//   0xFB marked    host → member         {"id","marker","name","alias"}: that member marked it; to the other
//                  member gateways only (never to reference members, nor back to its sender), once per member
//                  and message, and only at a bounded rate
//   0xFC-0xFD      reserved: skipped by a receiver, as are unknown JSON fields.
// A reference member offers no ALPN: it never sees a frame, and reads exactly the lines tlsd-chat.sh writes.
// Pure: no I/O.
import { MalformedFrameError } from '../errors.js';
import { ALIAS_PATTERN } from './room-lines.js';

export const ROOM_FRAME_JOIN = 0xf5;
export const ROOM_FRAME_WELCOME = 0xf6;
export const ROOM_FRAME_PRESENCE = 0xf7;
export const ROOM_FRAME_SAY = 0xf8;
export const ROOM_FRAME_SAID = 0xf9;
export const ROOM_FRAME_MARK = 0xfa;
export const ROOM_FRAME_MARKED = 0xfb;
/** The last kind this version reads; later bytes are reserved (skipped). */
export const ROOM_FRAME_LAST = ROOM_FRAME_MARKED;

/** The markers a room carries (XEP-0333's, by their element names). */
export const ROOM_MARKERS = ['received', 'displayed', 'acknowledged'] as const;
export type RoomMarker = (typeof ROOM_MARKERS)[number];
const isMarker = (v: unknown): v is RoomMarker => (ROOM_MARKERS as readonly unknown[]).includes(v);

/** Most history a member may ask for on a first join. */
export const MAX_ROOM_HISTORY = 200;
/** Longest name, alias or reason in a room frame (characters). */
const MAX_NAME = 80;
const MAX_REASON = 500;
const ROOM_ID = /^[\x21-\x7e]{1,128}$/;

export interface RoomJoinRecord {
  type: 'room-join';
  alias: string;
  after?: string;
  history?: number;
}
export type RoomWelcomeRecord = { type: 'room-welcome'; name: string; alias: string; refused?: undefined } | { type: 'room-welcome'; refused: string; name?: undefined; alias?: undefined };
export interface RoomPresenceRecord {
  type: 'room-presence';
  name: string;
  alias: string;
  present: boolean;
  at: number;
}
export interface RoomSayRecord {
  type: 'room-say';
  id: string;
  text: string;
}
export interface RoomSaidRecord {
  type: 'room-said';
  id: string;
  name: string;
  alias: string;
  text: string;
  at: number;
  echo?: string;
  history?: boolean;
}
export interface RoomMarkRecord {
  type: 'room-mark';
  id: string;
  marker: RoomMarker;
}
export interface RoomMarkedRecord {
  type: 'room-marked';
  id: string;
  marker: RoomMarker;
  name: string;
  alias: string;
}
export type RoomRecord = RoomJoinRecord | RoomWelcomeRecord | RoomPresenceRecord | RoomSayRecord | RoomSaidRecord | RoomMarkRecord | RoomMarkedRecord;

export function isRoomRecord(r: { type: string }): r is RoomRecord {
  return r.type.startsWith('room-');
}

export const isRoomId = (id: unknown): id is string => typeof id === 'string' && ROOM_ID.test(id);

/** The type byte and JSON body of a room record (RangeError for one the wire does not allow); texts go as given. */
export function roomFrame(r: RoomRecord): { type: number; body: Record<string, unknown> } {
  switch (r.type) {
    case 'room-join':
      if (!ALIAS_PATTERN.test(r.alias)) throw new RangeError(`not a room alias: ${JSON.stringify(r.alias)}`);
      if (r.after !== undefined && !isRoomId(r.after)) throw new RangeError('not a room message id');
      return { type: ROOM_FRAME_JOIN, body: { alias: r.alias, ...(r.after !== undefined && { after: r.after }), ...(r.history !== undefined && { history: Math.max(0, Math.min(MAX_ROOM_HISTORY, r.history)) }) } };
    case 'room-welcome':
      return { type: ROOM_FRAME_WELCOME, body: r.refused !== undefined ? { refused: r.refused.slice(0, MAX_REASON) } : { name: r.name, alias: r.alias } };
    case 'room-presence':
      return { type: ROOM_FRAME_PRESENCE, body: { name: r.name, alias: r.alias, present: r.present, at: r.at } };
    case 'room-say':
      if (!isRoomId(r.id)) throw new RangeError('not a message id');
      return { type: ROOM_FRAME_SAY, body: { id: r.id, text: r.text } };
    case 'room-said':
      if (!isRoomId(r.id) || (r.echo !== undefined && !isRoomId(r.echo))) throw new RangeError('not a message id');
      return {
        type: ROOM_FRAME_SAID,
        body: { id: r.id, name: r.name, alias: r.alias, text: r.text, at: r.at, ...(r.echo !== undefined && { echo: r.echo }), ...(r.history && { history: true }) },
      };
    case 'room-mark':
    case 'room-marked':
      if (!isRoomId(r.id)) throw new RangeError('not a room message id');
      if (!isMarker(r.marker)) throw new RangeError(`not a marker: ${JSON.stringify(r.marker)}`);
      return r.type === 'room-mark'
        ? { type: ROOM_FRAME_MARK, body: { id: r.id, marker: r.marker } }
        : { type: ROOM_FRAME_MARKED, body: { id: r.id, marker: r.marker, name: r.name, alias: r.alias } };
  }
}

const name = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= MAX_NAME;
const stamp = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A room frame's JSON body as a record: undefined for a reserved kind (skipped); MalformedFrameError when it
 * is not of this grammar. Texts are returned as sent: the owner checks them as any peer's text.
 */
export function parseRoomFrame(type: number, o: Record<string, unknown>): RoomRecord | undefined {
  const bad = (why: string): never => {
    throw new MalformedFrameError(`room frame 0x${type.toString(16)}: ${why}`);
  };
  switch (type) {
    case ROOM_FRAME_JOIN: {
      if (typeof o.alias !== 'string' || o.alias.length > 64) bad('needs an alias');
      if (o.after !== undefined && !isRoomId(o.after)) bad('after is a room message id');
      if (o.history !== undefined && !(typeof o.history === 'number' && Number.isSafeInteger(o.history) && o.history >= 0)) bad('history is a count');
      return {
        type: 'room-join',
        alias: o.alias as string,
        ...(o.after !== undefined && { after: o.after as string }),
        ...(o.history !== undefined && { history: Math.min(MAX_ROOM_HISTORY, o.history as number) }),
      };
    }
    case ROOM_FRAME_WELCOME:
      if (typeof o.refused === 'string') return { type: 'room-welcome', refused: o.refused.slice(0, MAX_REASON) };
      if (!name(o.name) || !name(o.alias)) bad('needs a name and an alias, or a reason');
      return { type: 'room-welcome', name: o.name as string, alias: o.alias as string };
    case ROOM_FRAME_PRESENCE:
      if (!name(o.name) || !name(o.alias) || typeof o.present !== 'boolean' || !stamp(o.at)) bad('needs name, alias, present and at');
      return { type: 'room-presence', name: o.name as string, alias: o.alias as string, present: o.present as boolean, at: o.at as number };
    case ROOM_FRAME_SAY:
      if (!isRoomId(o.id) || typeof o.text !== 'string') bad('needs an id and a text');
      return { type: 'room-say', id: o.id as string, text: o.text as string };
    case ROOM_FRAME_SAID:
      if (!isRoomId(o.id) || !name(o.name) || !name(o.alias) || typeof o.text !== 'string' || !stamp(o.at)) bad('needs id, name, alias, text and at');
      if (o.echo !== undefined && !isRoomId(o.echo)) bad('echo is a message id');
      return {
        type: 'room-said',
        id: o.id as string,
        name: o.name as string,
        alias: o.alias as string,
        text: o.text as string,
        at: o.at as number,
        ...(o.echo !== undefined && { echo: o.echo as string }),
        ...(o.history === true && { history: true }),
      };
    case ROOM_FRAME_MARK:
      if (!isRoomId(o.id) || !isMarker(o.marker)) bad('needs a room message id and a marker');
      return { type: 'room-mark', id: o.id as string, marker: o.marker as RoomMarker };
    case ROOM_FRAME_MARKED:
      if (!isRoomId(o.id) || !isMarker(o.marker) || !name(o.name) || !name(o.alias)) bad('needs id, marker, name and alias');
      return { type: 'room-marked', id: o.id as string, marker: o.marker as RoomMarker, name: o.name as string, alias: o.alias as string };
    default:
      return undefined;
  }
}
