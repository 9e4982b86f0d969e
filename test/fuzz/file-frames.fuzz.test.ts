// Fuzzing the file frames between gateways (bridge-protocol/wire/file-frames.ts, kinds 0xFA-0xFC of link-frames'
// codec): every offer, reply and chunk the encoder takes decodes back as the receiver's normal form, in any reads;
// what the encoder refuses is a RangeError; any bytes are file records of the grammar (within its limits) or the
// codec's typed errors, the same in one read and in random reads; the chunk, name and reason limits are exact.
import fc from 'fast-check';
import { FrameTooLargeError, MalformedFrameError } from '../../bridge-protocol/errors.js';
import { FRAME_FILE_CHUNK, FRAME_FILE_OFFER, FRAME_FILE_REPLY, MAX_CHUNK_BYTES, type FileRecord } from '../../bridge-protocol/wire/file-frames.js';
import { encodeFrame, FrameDecoder, type LinkRecord } from '../../bridge-protocol/wire/link-frames.js';
import { chunks, cuts, fuzzTarget, outcome, tokenBytes } from './support.js';

const SHA = 'ab'.repeat(32);
const tid = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);
/** Text with what JSON escapes, astral characters (two UTF-16 units), lone surrogates and controls. */
const unit = fc.oneof(fc.constantFrom('a', 'é', '😀', '"', '\\', '\n', '\u0000', '\ud800', '\udfff', '\u2028', ' '), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
/** Mostly short; one in four near `limit` characters (the wire's limit for that text), either side of it. */
const text = (limit: number) => fc.oneof({ weight: 3, arbitrary: fc.string({ unit, maxLength: 40 }) }, { weight: 1, arbitrary: fc.string({ unit, minLength: limit - 10, maxLength: limit + 10 }) });
const offset = fc.oneof(fc.nat(1_000_000), fc.maxSafeNat());
const bytes = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_CHUNK_BYTES - 3, max: MAX_CHUNK_BYTES }).map((n) => Buffer.alloc(n, 0xfe)) },
);

const record: fc.Arbitrary<FileRecord> = fc.oneof(
  fc.record({ type: fc.constant('file-offer' as const), tid, name: text(255), size: fc.maxSafeNat(), contentType: text(255), sha256: fc.stringMatching(/^[0-9a-f]{64}$/) }),
  fc.record(
    { type: fc.constant('file-reply' as const), tid, offset, resume: fc.boolean(), done: fc.boolean(), error: text(500) },
    { requiredKeys: ['type', 'tid'] },
  ),
  fc.record({ type: fc.constant('file-chunk' as const), tid, at: offset, data: bytes }),
);

/** The longest head of whole characters (a lone surrogate counts as one) of at most `max` UTF-16 units. */
function unitsHead(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

/** What the receiver gets for a record the sender wrote: texts cut to the wire's limits, false flags left out. */
function received(r: FileRecord): FileRecord {
  if (r.type === 'file-chunk') return r;
  if (r.type === 'file-reply') {
    return { type: 'file-reply', tid: r.tid, ...(r.offset !== undefined && { offset: r.offset }), ...(r.resume && { resume: true }), ...(r.done && { done: true }), ...(r.error !== undefined && { error: r.error.slice(0, 500) }) };
  }
  return { ...r, name: unitsHead(r.name, 255), contentType: r.contentType.slice(0, 255) };
}

/** Records compared by value: keys in any order, a Buffer by its bytes. */
const canon = (v: unknown): unknown =>
  Buffer.isBuffer(v) ? `bytes:${v.toString('hex')}` : Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canon(x)])) : v;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

/** What the grammar promises of every file record that comes out, whatever came in. */
function wellFormed(r: LinkRecord): boolean {
  if (r.type !== 'file-offer' && r.type !== 'file-reply' && r.type !== 'file-chunk') return true;
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(r.tid)) return false;
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (r.type === 'file-offer') return r.name.length <= 255 && whole(r.size) && /^[0-9a-f]{64}$/.test(r.sha256) && r.contentType.length <= 255;
  if (r.type === 'file-reply') return (r.offset === undefined || whole(r.offset)) && (r.error === undefined || r.error.length <= 500);
  return whole(r.at) && Buffer.isBuffer(r.data) && r.data.length <= MAX_CHUNK_BYTES;
}

const frame = (type: number, json: string): Buffer => Buffer.concat([Buffer.from([type]), Buffer.from(json, 'utf8'), Buffer.from('\n')]);
const PIECES = [
  '{', '}', ',', ':', '"', '\n', '"tid":"T1234567"', '"tid":"short"', '"name":"a.txt"', '"size":5', '"size":-1', '"size":1e400', '"size":9007199254740993',
  `"sha256":"${SHA}"`, '"type":"text/plain"', '"offset":0', '"offset":1.5', '"resume":true', '"done":true', '"error":"no"', '"error":7',
  '"at":0', '"data":"AAAA"', '"data":"QQ=="', '"data":"QR=="', '"data":"A"', '"data":"AB=C"', '"data":"!!"', '"data":""', 'null', '[]', '"__proto__":{}',
];
const typeByte = fc.constantFrom(FRAME_FILE_OFFER, FRAME_FILE_REPLY, FRAME_FILE_CHUNK, 0xf5, 0xfd, 0xfe, 0x41).map((b) => Buffer.from([b]));
const garbage = fc.array(fc.oneof(typeByte, tokenBytes(PIECES, { maxTokens: 10 })), { maxLength: 10 }).map((parts) => Buffer.concat(parts));

/** Records until the first error, and that error's class: a link's reads give exactly this, however they are cut. */
function readAll(reads: Buffer[]): { records: LinkRecord[]; error?: string } {
  const d = new FrameDecoder();
  const records: LinkRecord[] = [];
  for (const read of reads) {
    const r = outcome(() => d.push(read));
    if (!r.ok) return { records, error: (r.error as Error).constructor.name };
    records.push(...r.value);
  }
  return { records };
}

fuzzTarget('file-frames', (t) => {
  t.property('every record the encoder takes decodes back (the receiver\'s normal form), in any reads', [fc.array(record, { maxLength: 6 }), cuts()], (records, at) => {
    const d = new FrameDecoder();
    const got = chunks(Buffer.concat(records.map((r) => encodeFrame(r))), at).flatMap((c) => d.push(c));
    return same(got, records.map(received)) && d.buffered === 0;
  }, { runs: 400 });

  t.property('the encoder refuses a record the wire does not allow with RangeError, and writes nothing the receiver refuses', [
    fc.oneof(
      fc.record({ type: fc.constant('file-reply' as const), tid: fc.oneof(tid, fc.string()), offset: fc.oneof(fc.integer(), fc.double()) }),
      fc.record({ type: fc.constant('file-chunk' as const), tid: fc.oneof(tid, fc.string()), at: fc.oneof(fc.integer(), fc.double()), data: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)) }),
      fc.record({ type: fc.constant('file-offer' as const), tid, name: fc.string({ unit, maxLength: 8 }), size: fc.oneof(fc.integer(), fc.double()), contentType: fc.string({ unit, maxLength: 8 }), sha256: fc.oneof(fc.constant(SHA), fc.string()) }),
    ),
  ], (r) => {
    const e = outcome(() => encodeFrame(r as FileRecord));
    if (!e.ok) return e.error instanceof RangeError;
    const d = outcome(() => new FrameDecoder().push(e.value));
    return d.ok && d.value.length === 1 && same(d.value[0], received(r as FileRecord));
  }, { runs: 2000 });

  t.property('any bytes: well-formed file records (within the limits) or a typed error of the codec, nothing else', [garbage], (input) => {
    const r = outcome(() => new FrameDecoder().push(input));
    if (!r.ok) return r.error instanceof MalformedFrameError || r.error instanceof FrameTooLargeError;
    return r.value.every(wellFormed);
  }, { runs: 3000, weight: 2 });

  t.property('any bytes give the same records and the same error in one read, byte by byte and in random reads', [garbage, cuts()], (input, at) => {
    const one = readAll([input]);
    const want = JSON.stringify(one);
    return JSON.stringify(readAll(chunks(input, at))) === want && JSON.stringify(readAll([...input].map((b) => Buffer.from([b])))) === want;
  }, { runs: 1500, weight: 2 });

  t.property('a chunk\'s data is taken only as canonical base64, each byte as written', [fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.constantFrom('', '=', '==', 'A', 'AB', '!', ' ', '\n')], (data, pos, junk) => {
    const good = Buffer.from(data).toString('base64');
    const at = good.length === 0 ? 0 : pos % (good.length + 1);
    const b64 = good.slice(0, at) + junk + good.slice(at);
    const r = outcome(() => new FrameDecoder().push(frame(FRAME_FILE_CHUNK, JSON.stringify({ tid: 'T1234567', at: 0, data: b64 }))));
    if (!r.ok) return r.error instanceof MalformedFrameError && Buffer.from(b64, 'base64').toString('base64') !== b64;
    const c = r.value[0] as FileRecord & { type: 'file-chunk' };
    return c.data.toString('base64') === b64;
  }, { runs: 1000 });

  t.property('limits are exact: a chunk of MAX_CHUNK_BYTES, a name of 255 and a reason of 500 pass; one more does not', [fc.integer({ min: -2, max: 2 }), fc.constantFrom('a', '😀', 'é')], (delta, unit) => {
    const n = MAX_CHUNK_BYTES + delta;
    const chunk = outcome(() => new FrameDecoder().push(frame(FRAME_FILE_CHUNK, JSON.stringify({ tid: 'T1234567', at: 0, data: Buffer.alloc(n, 7).toString('base64') }))));
    const chunkOk = chunk.ok ? delta <= 0 && (chunk.value[0] as { data: Buffer }).data.length === n : delta > 0 && chunk.error instanceof MalformedFrameError;
    // Names count UTF-16 units on the wire; an astral character is two of them.
    const name = unit.repeat(Math.max(0, Math.floor((255 + delta) / unit.length)));
    const offer = outcome(() => new FrameDecoder().push(frame(FRAME_FILE_OFFER, JSON.stringify({ tid: 'T1234567', name, size: 1, sha256: SHA }))));
    const offerOk = offer.ok ? name.length <= 255 && (offer.value[0] as { name: string }).name === name : name.length > 255 && offer.error instanceof MalformedFrameError;
    const reason = 'x'.repeat(500 + delta);
    const reply = new FrameDecoder().push(frame(FRAME_FILE_REPLY, JSON.stringify({ tid: 'T1234567', error: reason })))[0] as { error: string };
    return chunkOk && offerOk && reply.error === reason.slice(0, 500);
  }, { runs: 60, weight: 0.01 });
});
