// Fuzzing the x-tlsim-gateway/3 frame codec for a one-to-one link's kinds (bridge-protocol/wire/link-frames.ts:
// messages, markers, chat states, profile requests and profiles; files are file-frames', rooms room-frames'
// target): what one gateway writes the other reads back, as an independent model of the text rules says, in any
// reads and under any text limits on either side; any text gives a frame that fits; any bytes are well-formed
// records or the codec's typed errors, the same however the reads are cut, and a failed decoder stays failed;
// the frame limit is exact, fails at the read that crosses it, and nothing more is ever held.
import fc from 'fast-check';
import { FrameTooLargeError, MalformedFrameError } from '../../bridge-protocol/errors.js';
import {
  encodeFrame,
  FRAME_MESSAGE,
  FrameDecoder,
  LINK_CHAT_STATES,
  LINK_MARKERS,
  MAX_FRAME_BYTES,
  MAX_FRAME_TEXT_BYTES,
  type LinkRecord,
  type MessageRecord,
} from '../../bridge-protocol/wire/link-frames.js';
import { chunks, cuts, fuzzTarget, outcome, tokenBytes } from './support.js';

const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', ' ', '\n', '\r', '\r\n', 'é', '😀', '"', '\\', '\u0000', '\u0001', '\t', '\ud800', '\udc00', '\ufffe', '\u2028', '\u0085') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = fc.string({ unit, maxLength: 40 });
const id = fc.stringMatching(/^[\x21-\x7e]{1,128}$/);
const flag = fc.option(fc.boolean(), { nil: undefined });

const message = fc.record({ type: fc.constant('message' as const), id: fc.option(id, { nil: undefined }), text, receipt: flag, markable: flag, truncated: flag }).map((m) => {
  // An absent key, not a key holding undefined: that is how a record is written.
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) r[k] = v;
  return r as unknown as MessageRecord;
});
const record: fc.Arbitrary<LinkRecord> = fc.oneof(
  { weight: 4, arbitrary: message },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('marker' as const), marker: fc.constantFrom(...LINK_MARKERS), id }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('state' as const), state: fc.constantFrom(...LINK_CHAT_STATES) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'profile-request' as const }) },
  { weight: 1, arbitrary: fc.oneof(fc.record({ type: fc.constant('profile' as const), turtle: text }), fc.record({ type: fc.constant('profile' as const), none: fc.string({ unit, maxLength: 250 }) })) },
);
/** A side's text limit: the default, or a small one so that cuts happen. */
const limit = fc.option(fc.integer({ min: 4, max: 48 }), { nil: undefined });

// The model: the text rules of PROTOCOL.md "Extensions", written out again character by character.
const utf8Size = (ch: string): number => (ch.length === 2 ? 4 : ch.charCodeAt(0) < 0x80 ? 1 : ch.charCodeAt(0) < 0x800 ? 2 : 3);
/** Whole characters (a lone surrogate counts as one of 3 bytes) up to `max` UTF-8 bytes. */
function cut(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    if (bytes + utf8Size(ch) > max) break;
    bytes += utf8Size(ch);
    out += ch;
  }
  return out;
}
const xmlLegal = (ch: string): boolean => {
  const c = ch.codePointAt(0)!;
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
};
const sanitize = (s: string): string => [...s].map((ch) => (xmlLegal(ch) ? ch : '\ufffd')).join('');
/** CR LF and a lone CR are LF; trailing LFs go; undefined when nothing is left (the sender refuses it). */
function normal(s: string): string | undefined {
  const t = s.replace(/\r\n|\r/g, '\n').replace(/\n+$/, '');
  return t === '' ? undefined : t;
}

/** What the receiver reads for a record the sender wrote, each with its own text limit; undefined: not sendable. */
function received(r: LinkRecord, sendMax = MAX_FRAME_TEXT_BYTES, readMax = MAX_FRAME_TEXT_BYTES): LinkRecord | undefined {
  if (r.type === 'profile') return r.turtle !== undefined ? r : { type: 'profile', none: r.none.slice(0, 200) };
  if (r.type !== 'message') return r;
  const n = normal(r.text);
  if (n === undefined) return undefined;
  const sent = cut(n, Math.min(sendMax, MAX_FRAME_TEXT_BYTES));
  const clean = sanitize(sent);
  const got = cut(clean, readMax);
  return {
    type: 'message',
    text: got,
    ...(r.id !== undefined && { id: r.id }),
    ...(r.receipt && { receipt: true }),
    ...(r.markable && { markable: true }),
    ...((r.truncated || sent.length < n.length || got.length < clean.length) && { truncated: true }),
  };
}

const canon = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

/** What the grammar promises of every record that comes out, whatever came in. */
function wellFormed(r: LinkRecord, readMax = MAX_FRAME_TEXT_BYTES): boolean {
  const idOk = (v: unknown) => typeof v === 'string' && /^[\x21-\x7e]{1,128}$/.test(v);
  switch (r.type) {
    case 'message':
      return typeof r.text === 'string' && [...r.text].every(xmlLegal) && !r.text.includes('\r') && Buffer.byteLength(r.text) <= readMax && (r.id === undefined || idOk(r.id));
    case 'marker':
      return (LINK_MARKERS as readonly string[]).includes(r.marker) && idOk(r.id);
    case 'state':
      return (LINK_CHAT_STATES as readonly string[]).includes(r.state);
    case 'profile':
      return typeof r.turtle === 'string' ? r.none === undefined : typeof r.none === 'string' && r.none.length <= 200;
    case 'profile-request':
      return true;
    default:
      return /^file-/.test(r.type); // file-frames' target checks those
  }
}

const PIECES = [
  '{', '}', ',', ':', '"', '\n', '[]', 'null', 'true', '1', '"\\u0000"', '"\\ud800"', '"\\n"', '"text":"hi"', '"text":1', '"text":"a\\r\\nb"', '"id":"m-1"', '"id":""',
  '"id":" x"', '"receipt":true', '"receipt":"yes"', '"markable":true', '"truncated":false', '"marker":"displayed"', '"marker":"seen"', '"state":"composing"',
  '"state":"dancing"', '"turtle":"@prefix"', '"none":"private"', '"none":1', '"__proto__":{"text":"x"}',
];
const typeByte = fc.integer({ min: 0xf3, max: 0xff }).map((b) => Buffer.from([b]));
const garbage = fc.array(fc.oneof(typeByte, tokenBytes(PIECES, { maxTokens: 10 })), { maxLength: 10 }).map((parts) => Buffer.concat(parts));

/** Records until the first error, and the error's class; checks on the way that nothing over the limit is held. */
function readAll(reads: Buffer[], readMax?: number): { records: LinkRecord[]; error?: string; held?: number } {
  const d = new FrameDecoder(readMax === undefined ? {} : { maxTextBytes: readMax });
  const records: LinkRecord[] = [];
  for (const read of reads) {
    const r = outcome(() => d.push(read));
    if (!r.ok) {
      // Spent: the same error again, whatever comes next.
      const again = outcome(() => d.push(Buffer.from('\xf7{"state":"active"}\n', 'latin1')));
      if (again.ok || again.error !== r.error) return { records, error: 'not spent', held: d.buffered };
      return { records, error: (r.error as Error).constructor.name };
    }
    if (d.buffered > MAX_FRAME_BYTES) return { records, error: 'held too much', held: d.buffered };
    records.push(...r.value);
  }
  return { records };
}

/** Cut points, many of them right around the frame limit (where the codec must notice). */
const nearLimit = fc.array(fc.oneof(fc.nat(), fc.integer({ min: MAX_FRAME_BYTES - 3, max: MAX_FRAME_BYTES + 3 })), { maxLength: 8 });

fuzzTarget('link-frames', (t) => {
  t.property('what one side writes the other reads back as the model says, in any reads, with any text limits', [fc.array(record, { maxLength: 8 }), cuts(), limit, limit], (records, at, sendMax, readMax) => {
    const sendable = records.filter((r) => received(r, sendMax) !== undefined);
    const wire = Buffer.concat(sendable.map((r) => encodeFrame(r, sendMax === undefined ? {} : { maxTextBytes: sendMax })));
    const got = readAll(chunks(wire, at), readMax);
    return got.error === undefined && canon(got.records) === canon(sendable.map((r) => received(r, sendMax, readMax)));
  }, { runs: 1000, weight: 2 });

  t.property('any text: a frame within MAX_FRAME_BYTES, or RangeError for a text of nothing but line ends', [fc.oneof({ weight: 20, arbitrary: text }, { weight: 1, arbitrary: fc.tuple(unit, fc.integer({ min: 80_000, max: 200_000 })).map(([u, n]) => u.repeat(n)) })], (s) => {
    const r = outcome(() => encodeFrame({ type: 'message', text: s }));
    if (!r.ok) return r.error instanceof RangeError && normal(s) === undefined;
    return r.value.length <= MAX_FRAME_BYTES + 1 && r.value.indexOf(0x0a) === r.value.length - 1 && r.value[0] === FRAME_MESSAGE;
  }, { runs: 300 });

  t.property('any bytes: well-formed records or a typed error of the codec, nothing else', [garbage, limit], (input, readMax) => {
    const r = outcome(() => new FrameDecoder(readMax === undefined ? {} : { maxTextBytes: readMax }).push(input));
    if (!r.ok) return r.error instanceof MalformedFrameError || r.error instanceof FrameTooLargeError;
    return r.value.every((x) => wellFormed(x, readMax));
  }, { runs: 3000, weight: 2 });

  t.property('any bytes: the same records and error in one read, byte by byte and in random reads; a failed decoder stays failed', [garbage, cuts()], (input, at) => {
    const want = canon(readAll([input]));
    return !want.includes('"error":"not') && canon(readAll(chunks(input, at))) === want && canon(readAll([...input].map((b) => Buffer.from([b])))) === want;
  }, { runs: 1500, weight: 2 });

  t.property('the frame limit is exact and fails at the read that crosses it, holding no more than the limit', [fc.integer({ min: -2, max: 2 }), nearLimit], (delta, at) => {
    const size = MAX_FRAME_BYTES + delta; // type byte and JSON, without the LF
    const head = Buffer.from('\xf5{"text":"', 'latin1');
    const body = Buffer.concat([head, Buffer.alloc(size - head.length - 2, 0x61), Buffer.from('"}')]);
    const next = encodeFrame({ type: 'state', state: 'paused' });
    const reads = chunks(Buffer.concat([body, Buffer.from('\n'), next]), at);
    const got = readAll(reads);
    if (size <= MAX_FRAME_BYTES) return got.error === undefined && got.records.length === 2 && got.records[1]!.type === 'state';
    // It fails in the read holding the frame's byte number MAX_FRAME_BYTES + 1, not before and not after.
    let end = 0;
    const crossing = reads.findIndex((r) => (end += r.length) > MAX_FRAME_BYTES);
    const d = new FrameDecoder();
    const failedAt = reads.findIndex((r) => !outcome(() => d.push(r)).ok);
    return got.error === 'FrameTooLargeError' && got.records.length === 0 && failedAt === crossing;
  }, { runs: 40, weight: 0.005 });

  t.property('a kind, marker, state or profile form this version does not know is skipped, and what follows still arrives', [fc.integer({ min: 0xf5, max: 0xfd }), fc.constantFrom('{}', '{"marker":"seen","id":"m-1"}', '{"state":"dancing"}', '{"x":1}'), cuts()], (type, json, at) => {
    const unknown = Buffer.concat([Buffer.from([type]), Buffer.from(json), Buffer.from('\n')]);
    const after = encodeFrame({ type: 'message', id: 'm-2', text: 'still here' });
    const got = readAll(chunks(Buffer.concat([unknown, after]), at));
    const last = got.records.at(-1);
    // A message or a file frame without its fields is malformed (not unknown); a profile request needs nothing.
    if (type === FRAME_MESSAGE || (type >= 0xfa && type <= 0xfc)) return got.error === 'MalformedFrameError';
    if (type === 0xf6 && !json.includes('"id"')) return got.error === 'MalformedFrameError';
    const skipped = type === 0xf8 ? got.records.length === 2 && got.records[0]!.type === 'profile-request' : got.records.length === 1;
    return got.error === undefined && skipped && last?.type === 'message' && last.text === 'still here';
  }, { runs: 300, weight: 0.05 });
});
