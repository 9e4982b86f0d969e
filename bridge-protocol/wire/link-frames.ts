// Typed frames between two gateways (ALPN x-tlsim-gateway/3; PROTOCOL.md "Extensions"): messages with ids,
// receipts and chat markers (XEP-0184, XEP-0333 semantics), chat states (XEP-0085 semantics). Pure: no sockets,
// timers or logging.
//
// The wire of a /3 link, each direction:
//   frame   = type-byte JSON-object LF     one record; JSON (RFC 8259) in UTF-8 never holds a raw LF, 0xF5-0xFF
//   ACK     = 0xFE                         as in /2 (wire/link-control.ts): one per LF read
//   END     = 0xFF                         as in /2: no more frames from me on this link
// type-byte (cannot start, or occur in, UTF-8 text):
//   0xF5 message  {"id":"<1-128 printable ASCII>"?, "text":"...", "receipt":true?, "markable":true?, "truncated":true?}
//   0xF6 marker   {"marker":"receipt"|"received"|"displayed"|"acknowledged", "id":"<the message's id>"}
//   0xF7 state    {"state":"active"|"composing"|"paused"|"inactive"|"gone"}
//   0xF8 profile? {}                                   "send me your FOAF profile" (issue 13)
//   0xF9 profile  {"turtle":"..."} | {"none":"<why>"}  the answer, in the order asked
//   0xFA-0xFC     files (wire/file-frames.ts): offer, reply, chunk
//   0xFD          reserved: a receiver skips such a frame (a later /3 sender may add kinds); so are unknown JSON
//                 fields, and a marker or state value it does not know. An older /3 gateway skips 0xF8-0xFC too:
//                 a profile asker's wait ends with its timeout; a file offer goes unanswered.
// On a room connection (ALPN x-tlsim-room/1, its own TLS connection) the same framing carries the room kinds of
// wire/room-frames.ts instead (FrameDecoder option `kinds: 'room'`), without ACK and END: a member resumes by
// room message id.
// Every frame is acknowledged (one LF each, so the receiver acknowledges without parsing). A message or marker is
// done only once acknowledged, and goes again on the next link if the link ended first; a chat state is never
// sent again (a stale "composing" is worse than none).
// Limits: a frame is at most MAX_FRAME_BYTES up to its LF; longer, or not of this grammar, is the codec's typed
// error (FrameTooLargeError, MalformedFrameError) and the link that sent it is closed with that reason. A sender
// cuts a message's text so that its frame always fits (`truncated` tells the receiver).
import { FrameTooLargeError, MalformedFrameError } from '../errors.js';
import { normalizeText } from './line-codec.js';
import { sanitizeForXml } from './xml-chars.js';
import { cutToUtf8Bytes } from './utf8-cut.js';
import { FRAME_FILE_CHUNK, FRAME_FILE_OFFER, fileFrame, parseFileFrame, type FileRecord } from './file-frames.js';
import { isRoomRecord, parseRoomFrame, ROOM_FRAME_LAST, roomFrame, type RoomRecord } from './room-frames.js';

export const FRAME_MESSAGE = 0xf5;
export const FRAME_MARKER = 0xf6;
export const FRAME_STATE = 0xf7;
export const FRAME_PROFILE_REQUEST = 0xf8;
export const FRAME_PROFILE = 0xf9;
const FRAME_FIRST = 0xf5;
const FRAME_LAST = 0xfd;
const LF = 0x0a;

/** Largest frame, type byte and JSON, without its LF. The same for every gateway: it is part of the protocol. */
export const MAX_FRAME_BYTES = 512 * 1024;
/**
 * Largest text a sender puts in one frame, in UTF-8 bytes: JSON may write a character of 1 byte as 6 (\u001f),
 * so this much always fits, with room for ids and flags.
 */
export const MAX_FRAME_TEXT_BYTES = Math.floor((MAX_FRAME_BYTES - 1024) / 6);
export const MAX_ID_LENGTH = 128;

export const LINK_MARKERS = ['receipt', 'received', 'displayed', 'acknowledged'] as const;
export type LinkMarker = (typeof LINK_MARKERS)[number];
export const LINK_CHAT_STATES = ['active', 'composing', 'paused', 'inactive', 'gone'] as const;
export type LinkChatState = (typeof LINK_CHAT_STATES)[number];

export interface MessageRecord {
  type: 'message';
  text: string;
  /** The sender's id for it: what markers name. Absent: no marker can name it. */
  id?: string;
  /** XEP-0184 <request/>: the sender wants a receipt. */
  receipt?: boolean;
  /** XEP-0333 <markable/>. */
  markable?: boolean;
  /** The sender cut the text to fit (or the receiver did, to its own limit). */
  truncated?: boolean;
}
export interface MarkerRecord {
  type: 'marker';
  marker: LinkMarker;
  /** The id of the message it is about, as its sender gave it. */
  id: string;
}
export interface ChatStateRecord {
  type: 'state';
  state: LinkChatState;
}
/** "Send me your profile": answered by one ProfileRecord. */
export interface ProfileRequestRecord {
  type: 'profile-request';
}
/** A profile as Turtle, or why there is none. The receiver checks its size and syntax (it is a stranger's text). */
export type ProfileRecord = { type: 'profile'; turtle: string; none?: undefined } | { type: 'profile'; none: string; turtle?: undefined };
export type LinkRecord = MessageRecord | MarkerRecord | ChatStateRecord | ProfileRequestRecord | ProfileRecord | FileRecord;
/** What one codec carries: a one-to-one link's records, or a room connection's (wire/room-frames.ts). */
export type FrameRecord = LinkRecord | RoomRecord;

/** An id as the wire allows it: 1-128 printable ASCII characters, no space (UUIDs, XMPP ids). */
export function isLinkId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= MAX_ID_LENGTH && /^[\x21-\x7e]+$/.test(id);
}

/**
 * One frame, LF included, to be written in ONE write. A message's text is normalised as on a plain link (CR LF
 * to LF, trailing LFs removed; RangeError when nothing is left) and cut to `maxTextBytes` (at most
 * MAX_FRAME_TEXT_BYTES), with `truncated` set. RangeError for an id the wire does not allow.
 */
export function encodeFrame(record: FrameRecord, opts: { maxTextBytes?: number } = {}): Buffer {
  let type: number;
  let body: Record<string, unknown>;
  if (isRoomRecord(record)) {
    ({ type, body } = roomFrame(record));
  } else if (record.type === 'message') {
    if (record.id !== undefined && !isLinkId(record.id)) throw new RangeError(`not a link id: ${JSON.stringify(record.id)}`);
    const max = Math.min(opts.maxTextBytes ?? MAX_FRAME_TEXT_BYTES, MAX_FRAME_TEXT_BYTES);
    const normal = normalizeText(record.text);
    const text = cutToUtf8Bytes(normal, max);
    type = FRAME_MESSAGE;
    body = {
      ...(record.id !== undefined && { id: record.id }),
      text,
      ...(record.receipt && { receipt: true }),
      ...(record.markable && { markable: true }),
      ...((record.truncated || text.length < normal.length) && { truncated: true }),
    };
  } else if (record.type === 'marker') {
    if (!isLinkId(record.id)) throw new RangeError(`not a link id: ${JSON.stringify(record.id)}`);
    if (!LINK_MARKERS.includes(record.marker)) throw new RangeError(`not a marker: ${String(record.marker)}`);
    type = FRAME_MARKER;
    body = { marker: record.marker, id: record.id };
  } else if (record.type === 'profile-request') {
    type = FRAME_PROFILE_REQUEST;
    body = {};
  } else if (record.type === 'profile') {
    type = FRAME_PROFILE;
    body = record.turtle !== undefined ? { turtle: record.turtle } : { none: record.none };
  } else if (record.type !== 'state') {
    ({ type, body } = fileFrame(record));
  } else {
    if (!LINK_CHAT_STATES.includes(record.state)) throw new RangeError(`not a chat state: ${String(record.state)}`);
    type = FRAME_STATE;
    body = { state: record.state };
  }
  const json = JSON.stringify(body);
  if (Buffer.byteLength(json) + 1 > MAX_FRAME_BYTES) throw new RangeError(`a frame of ${Buffer.byteLength(json) + 1} bytes is over ${MAX_FRAME_BYTES}`);
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(json) + 1);
  out[0] = type;
  out.write(json, 1, 'utf8');
  out[out.length - 1] = LF;
  return out;
}

export interface FrameDecoderOptions {
  /** Longest text delivered, in UTF-8 bytes; longer is cut and marked truncated (default MAX_FRAME_TEXT_BYTES). */
  maxTextBytes?: number;
  /** Which kinds the type bytes name: a one-to-one link's (default) or a room connection's. */
  kinds?: 'link' | 'room';
}

/** Whole frames only (no `stream`): stateless between calls, so shared by every link. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Turns the frame bytes of one /3 link (ACK and END already taken out, see splitControl) into records. A frame
 * may arrive split at any byte, or many in one chunk. Throws FrameTooLargeError or MalformedFrameError; after
 * that the decoder is spent (the link is closed). Holds at most MAX_FRAME_BYTES between pushes.
 */
/** `R`: the records the chosen kinds give (LinkRecord by default; RoomRecord with kinds 'room'). */
export class FrameDecoder<R extends FrameRecord = LinkRecord> {
  private held: Buffer[] = [];
  private heldLength = 0;
  private failed: Error | undefined;
  private readonly maxTextBytes: number;
  private readonly kinds: 'link' | 'room';

  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxTextBytes ?? MAX_FRAME_TEXT_BYTES;
    if (!Number.isSafeInteger(max) || max < 4) throw new RangeError(`maxTextBytes must be an integer >= 4, got ${max}`);
    this.maxTextBytes = max;
    this.kinds = opts.kinds ?? 'link';
  }

  /** Bytes held of a frame not complete yet. */
  get buffered(): number {
    return this.heldLength;
  }

  push(chunk: Uint8Array): R[] {
    if (this.failed) throw this.failed;
    const out: R[] = [];
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let from = 0;
    for (let lf = bytes.indexOf(LF); lf >= 0; lf = bytes.indexOf(LF, from)) {
      const part = bytes.subarray(from, lf);
      const frame = this.held.length === 0 ? part : Buffer.concat([...this.held, part]);
      this.held = [];
      this.heldLength = 0;
      from = lf + 1;
      if (frame.length > MAX_FRAME_BYTES) this.fail(new FrameTooLargeError(MAX_FRAME_BYTES, frame.length));
      const record = this.parse(frame);
      if (record) out.push(record as R);
    }
    const rest = bytes.subarray(from);
    if (rest.length > 0) {
      if (this.heldLength + rest.length > MAX_FRAME_BYTES) this.fail(new FrameTooLargeError(MAX_FRAME_BYTES, this.heldLength + rest.length));
      // A copy: the caller may reuse its buffer, and a small copy lets a large chunk be freed.
      this.held.push(Buffer.from(rest));
      this.heldLength += rest.length;
    }
    return out;
  }

  private fail(err: Error): never {
    this.failed = err;
    this.held = [];
    this.heldLength = 0;
    throw err;
  }

  /** One frame without its LF: a record, or undefined for a kind (or value) this version does not know. */
  private parse(frame: Buffer): FrameRecord | undefined {
    const type = frame[0];
    if (type === undefined || type < FRAME_FIRST || type > FRAME_LAST) {
      this.fail(new MalformedFrameError(`a frame must start with a type byte 0xf5-0xfd, got ${type === undefined ? 'an empty line' : `0x${type.toString(16)}`}`));
    }
    const file = this.kinds === 'link' && type >= FRAME_FILE_OFFER && type <= FRAME_FILE_CHUNK;
    const known = this.kinds === 'room' ? type <= ROOM_FRAME_LAST : type <= FRAME_PROFILE || file;
    if (!known) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(STRICT_UTF8.decode(frame.subarray(1)));
    } catch {
      this.fail(new MalformedFrameError(`frame 0x${type.toString(16)} is not a JSON object in UTF-8`));
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) this.fail(new MalformedFrameError(`frame 0x${type.toString(16)} is not a JSON object`));
    const o = body as Record<string, unknown>;
    if (this.kinds === 'room') {
      try {
        const r = parseRoomFrame(type, o);
        return r && this.roomTexts(r);
      } catch (err) {
        this.fail(err as Error);
      }
    }
    if (file) {
      try {
        return parseFileFrame(type, o);
      } catch (err) {
        this.fail(err as Error);
      }
    }
    if (type === FRAME_MESSAGE) return this.message(o);
    if (type === FRAME_PROFILE_REQUEST) return { type: 'profile-request' };
    if (type === FRAME_PROFILE) {
      if (typeof o.turtle === 'string') return { type: 'profile', turtle: o.turtle };
      if (typeof o.none === 'string') return { type: 'profile', none: o.none.slice(0, 200) };
      return undefined; // An answer of a form this version does not know: skipped, like an unknown value.
    }
    if (type === FRAME_MARKER) {
      if (!isLinkId(o.id)) this.fail(new MalformedFrameError('a marker frame needs the id of a message'));
      return LINK_MARKERS.includes(o.marker as LinkMarker) ? { type: 'marker', marker: o.marker as LinkMarker, id: o.id } : undefined;
    }
    return LINK_CHAT_STATES.includes(o.state as LinkChatState) ? { type: 'state', state: o.state as LinkChatState } : undefined;
  }

  /** A room text is checked as any peer's text: XML-legal, within our limit. */
  private roomTexts(r: RoomRecord): RoomRecord {
    if (r.type !== 'room-say' && r.type !== 'room-said') return r;
    return { ...r, text: cutToUtf8Bytes(sanitizeForXml(r.text.replace(/\r\n?/g, '\n')), this.maxTextBytes) };
  }

  private message(o: Record<string, unknown>): MessageRecord {
    if (typeof o.text !== 'string') this.fail(new MalformedFrameError('a message frame needs a text'));
    if (o.id !== undefined && !isLinkId(o.id)) this.fail(new MalformedFrameError('a message id is 1-128 printable ASCII characters'));
    for (const flag of ['receipt', 'markable', 'truncated'] as const) {
      if (o[flag] !== undefined && typeof o[flag] !== 'boolean') this.fail(new MalformedFrameError(`"${flag}" must be true or false`));
    }
    // What the other gateway sends is checked like any peer's text: XML-legal, within our limit.
    const clean = sanitizeForXml(o.text.replace(/\r\n?/g, '\n'));
    const text = cutToUtf8Bytes(clean, this.maxTextBytes);
    return {
      type: 'message',
      text,
      ...(o.id !== undefined && { id: o.id as string }),
      ...(o.receipt === true && { receipt: true }),
      ...(o.markable === true && { markable: true }),
      ...((o.truncated === true || text.length < clean.length) && { truncated: true }),
    };
  }
}
