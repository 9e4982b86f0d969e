// Files between two gateways, as frames of a /3 link (wire/link-frames.ts, kinds 0xFA-0xFC from its reserved
// range; a /3 gateway before them skips them, and the sender then never gets a reply). Pure: no I/O.
//
//   0xFA offer  {"tid", "name", "size", "type", "sha256"}   the sender has a file for the peer's user
//   0xFB reply  {"tid", "offset", "resume":true}             the receiver has this many bytes: send from there (the
//                                                            answer to an offer, or to a chunk past a gap)
//               {"tid", "offset"}                            progress: written up to here (the sender's window moves)
//               {"tid", "done":true}                         the receiver has it all and the hash matched
//               {"tid", "error":"<why, for the sender's user>"}  refused (too large, quota, hash mismatch): do not retry
//   0xFC chunk  {"tid", "at", "data":"<base64 of at most MAX_CHUNK_BYTES>"}  bytes from offset `at`
// The sender offers again on every new link; the receiver answers with what it has, so a transfer resumes where the
// last link left it. It keeps at most a window of bytes beyond the offset last confirmed, and its chat frames go
// ahead of its chunks (link-writer.ts): a file never holds up chat on the same link.
import { MalformedFrameError } from '../errors.js';
import { canonicalBase64 } from './base64.js';

export const FRAME_FILE_OFFER = 0xfa;
export const FRAME_FILE_REPLY = 0xfb;
export const FRAME_FILE_CHUNK = 0xfc;

/** Largest chunk of file bytes in one frame (its base64 is a third larger, well within a frame). */
export const MAX_CHUNK_BYTES = 48 * 1024;
/** Longest file name and reason, in characters. */
const MAX_NAME = 255;
const MAX_ERROR = 500;
const TID = /^[A-Za-z0-9_-]{8,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The longest head of `s` of at most `max` UTF-16 units (what the receiver counts) that does not cut a character. */
function headOf(s: string, max: number): string {
  if (s.length <= max) return s;
  const pair = /[\ud800-\udbff]/.test(s[max - 1]!) && /[\udc00-\udfff]/.test(s[max]!);
  return s.slice(0, pair ? max - 1 : max);
}

export interface FileOfferRecord {
  type: 'file-offer';
  /** The sender's id for this transfer: the same on every link. */
  tid: string;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
}
export interface FileReplyRecord {
  type: 'file-reply';
  tid: string;
  offset?: number;
  /** Send from `offset` on (what was sent beyond it is lost). */
  resume?: boolean;
  done?: boolean;
  error?: string;
}
export interface FileChunkRecord {
  type: 'file-chunk';
  tid: string;
  at: number;
  data: Buffer;
}
export type FileRecord = FileOfferRecord | FileReplyRecord | FileChunkRecord;

export function isFileRecord(r: { type: string }): r is FileRecord {
  return r.type === 'file-offer' || r.type === 'file-reply' || r.type === 'file-chunk';
}

export function isTransferId(tid: unknown): tid is string {
  return typeof tid === 'string' && TID.test(tid);
}

const offset = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The type byte and JSON body of a file record; RangeError for one the wire does not allow. */
export function fileFrame(r: FileRecord): { type: number; body: Record<string, unknown> } {
  if (!isTransferId(r.tid)) throw new RangeError(`not a transfer id: ${JSON.stringify(r.tid)}`);
  if (r.type === 'file-offer') {
    if (!SHA256.test(r.sha256) || !offset(r.size)) throw new RangeError('a file offer needs a size and a sha256');
    // The receiver counts UTF-16 units: a name of 255 characters outside the BMP is 510 of them.
    return { type: FRAME_FILE_OFFER, body: { tid: r.tid, name: headOf(r.name, MAX_NAME), size: r.size, type: r.contentType, sha256: r.sha256 } };
  }
  if (r.type === 'file-reply') {
    if (r.offset !== undefined && !offset(r.offset)) throw new RangeError('an offset is a whole number of bytes');
    return {
      type: FRAME_FILE_REPLY,
      body: { tid: r.tid, ...(r.offset !== undefined && { offset: r.offset }), ...(r.resume && { resume: true }), ...(r.done && { done: true }), ...(r.error !== undefined && { error: r.error.slice(0, MAX_ERROR) }) },
    };
  }
  if (!offset(r.at)) throw new RangeError('a chunk needs its offset, a whole number of bytes');
  if (r.data.length > MAX_CHUNK_BYTES) throw new RangeError(`a chunk holds at most ${MAX_CHUNK_BYTES} bytes`);
  return { type: FRAME_FILE_CHUNK, body: { tid: r.tid, at: r.at, data: r.data.toString('base64') } };
}

/** A file frame's JSON body as a record; MalformedFrameError when it is not of this grammar. */
export function parseFileFrame(type: number, o: Record<string, unknown>): FileRecord {
  const bad = (why: string): never => {
    throw new MalformedFrameError(`file frame 0x${type.toString(16)}: ${why}`);
  };
  if (!isTransferId(o.tid)) bad('needs a transfer id');
  const tid = o.tid as string;
  if (type === FRAME_FILE_OFFER) {
    if (typeof o.name !== 'string' || o.name.length > MAX_NAME) bad('needs a name of at most 255 characters');
    if (!offset(o.size)) bad('needs a size');
    if (typeof o.sha256 !== 'string' || !SHA256.test(o.sha256)) bad('needs a sha256');
    const contentType = typeof o.type === 'string' ? o.type.slice(0, 255) : 'application/octet-stream';
    return { type: 'file-offer', tid, name: o.name as string, size: o.size as number, contentType, sha256: o.sha256 as string };
  }
  if (type === FRAME_FILE_REPLY) {
    if (o.offset !== undefined && !offset(o.offset)) bad('an offset is a whole number');
    if (o.error !== undefined && typeof o.error !== 'string') bad('an error is a text');
    return {
      type: 'file-reply',
      tid,
      ...(o.offset !== undefined && { offset: o.offset as number }),
      ...(o.resume === true && { resume: true }),
      ...(o.done === true && { done: true }),
      ...(typeof o.error === 'string' && { error: o.error.slice(0, MAX_ERROR) }),
    };
  }
  if (!offset(o.at)) bad('a chunk needs its offset');
  const data = typeof o.data === 'string' ? canonicalBase64(o.data) : undefined;
  if (!data) return bad('a chunk needs base64 data (padded, as it encodes back)');
  if (data.length > MAX_CHUNK_BYTES) bad(`a chunk holds at most ${MAX_CHUNK_BYTES} bytes`);
  return { type: 'file-chunk', tid, at: o.at as number, data };
}
