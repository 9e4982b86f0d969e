// The gateway/3 frame codec: what one gateway writes the other reads back, split anywhere; limits and bad input
// give the codec's typed errors; and a fuzzer (fast-check) finds no other outcome and no unbounded buffer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, MalformedFrameError } from '../../bridge-protocol/errors.js';
import {
  FRAME_MESSAGE,
  FrameDecoder,
  LINK_CHAT_STATES,
  LINK_MARKERS,
  MAX_FRAME_BYTES,
  MAX_FRAME_TEXT_BYTES,
  encodeFrame,
  type LinkRecord,
} from '../../bridge-protocol/wire/link-frames.js';

const decodeAll = (bytes: Buffer, d = new FrameDecoder()): LinkRecord[] => d.push(bytes);
const frame = (type: number, json: string): Buffer => Buffer.concat([Buffer.from([type]), Buffer.from(json, 'utf8'), Buffer.from('\n')]);

describe('encodeFrame / FrameDecoder', () => {
  it('reads back a message with id and requests, a marker and a chat state', () => {
    const records: LinkRecord[] = [
      { type: 'message', id: '6f1c-uuid', text: 'a "quoted" \\ line\nsecond ☃ 👋', receipt: true, markable: true },
      { type: 'marker', marker: 'displayed', id: '6f1c-uuid' },
      { type: 'state', state: 'composing' },
    ];
    expect(decodeAll(Buffer.concat(records.map((r) => encodeFrame(r))))).toEqual(records);
  });

  it('writes one LF per frame (one acknowledgement each) and a type byte that UTF-8 never has', () => {
    const bytes = encodeFrame({ type: 'message', text: 'x\ny\nz' });
    expect(bytes[0]).toBe(FRAME_MESSAGE);
    expect(bytes.filter((b) => b === 0x0a).length).toBe(1);
    expect(bytes.at(-1)).toBe(0x0a);
    expect(bytes.subarray(1, -1).toString()).toBe('{"text":"x\\ny\\nz"}');
  });

  it('normalises text as a plain link does, and refuses an empty message and an id the wire does not allow', () => {
    expect(decodeAll(encodeFrame({ type: 'message', text: 'a\r\nb\r\n\n' }))).toEqual([{ type: 'message', text: 'a\nb' }]);
    expect(() => encodeFrame({ type: 'message', text: '\n\n' })).toThrow(RangeError);
    expect(() => encodeFrame({ type: 'message', text: 'x', id: 'has space' })).toThrow(RangeError);
    expect(() => encodeFrame({ type: 'marker', marker: 'displayed', id: '' })).toThrow(RangeError);
    expect(() => encodeFrame({ type: 'marker', marker: 'read' as never, id: 'x' })).toThrow(RangeError);
  });

  it('cuts a text too long for a frame at a character boundary and says so; the frame always fits', () => {
    // Every character JSON writes as six bytes: the worst case.
    const worst = '\u0001'.repeat(MAX_FRAME_TEXT_BYTES + 100);
    const bytes = encodeFrame({ type: 'message', text: worst });
    expect(bytes.length - 1).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const [m] = decodeAll(bytes) as [Extract<LinkRecord, { type: 'message' }>];
    expect(m.truncated).toBe(true);
    const emoji = encodeFrame({ type: 'message', text: '👋'.repeat(10) }, { maxTextBytes: 10 });
    expect(decodeAll(emoji)).toEqual([{ type: 'message', text: '👋👋', truncated: true }]);
  });

  it('cuts at its own limit, and makes text XML can carry', () => {
    const d = new FrameDecoder({ maxTextBytes: 4 });
    expect(d.push(frame(0xf5, '{"text":"abcdef"}'))).toEqual([{ type: 'message', text: 'abcd', truncated: true }]);
    expect(new FrameDecoder().push(frame(0xf5, '{"text":"nul\\u0000 here"}'))).toEqual([{ type: 'message', text: 'nul\uFFFD here' }]);
  });

  it('skips kinds and values it does not know (a later sender may add them), and unknown fields', () => {
    const bytes = Buffer.concat([
      frame(0xfd, '{"anything":1}'),
      frame(0xf9, '{"neither":"turtle nor none"}'),
      frame(0xf6, '{"marker":"read-by-cat","id":"m1"}'),
      frame(0xf7, '{"state":"dancing"}'),
      frame(0xf5, '{"text":"hi","future":{"x":1}}'),
    ]);
    expect(decodeAll(bytes)).toEqual([{ type: 'message', text: 'hi' }]);
  });

  it('carries the FOAF profile exchange: a request, and an answer with Turtle or the reason there is none', () => {
    const turtle = '@prefix foaf: <http://xmlns.com/foaf/0.1/>.\n<urn:tlsim:peer:x> a foaf:Person; foaf:nick "\u00e9\n".';
    const bytes = Buffer.concat([encodeFrame({ type: 'profile-request' }), encodeFrame({ type: 'profile', turtle }), encodeFrame({ type: 'profile', none: 'nothing published' })]);
    expect(bytes[0]).toBe(0xf8);
    expect(decodeAll(bytes)).toEqual([{ type: 'profile-request' }, { type: 'profile', turtle }, { type: 'profile', none: 'nothing published' }]);
    expect(() => encodeFrame({ type: 'profile', turtle: 'x'.repeat(MAX_FRAME_BYTES) })).toThrow(RangeError);
  });

  it.each([
    ['a line without a type byte', Buffer.from('hello\n')],
    ['an empty line', Buffer.from('\n')],
    ['JSON that is not an object', frame(0xf5, '["text"]')],
    ['broken JSON', frame(0xf5, '{"text":')],
    ['invalid UTF-8', Buffer.concat([Buffer.from([0xf5]), Buffer.from('{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')])],
    ['a message without text', frame(0xf5, '{"id":"x"}')],
    ['an id that is not printable ASCII', frame(0xf5, '{"text":"x","id":"a b"}')],
    ['a flag that is not a boolean', frame(0xf5, '{"text":"x","receipt":"yes"}')],
    ['a marker without an id', frame(0xf6, '{"marker":"displayed"}')],
  ])('%s is a MalformedFrameError, and the decoder stays failed', (_what, bytes) => {
    const d = new FrameDecoder();
    expect(() => d.push(bytes)).toThrow(MalformedFrameError);
    expect(() => d.push(encodeFrame({ type: 'state', state: 'active' }))).toThrow(MalformedFrameError);
    expect(d.buffered).toBe(0);
  });

  it('a frame longer than MAX_FRAME_BYTES is a FrameTooLargeError before it is all held', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from([0xf5]));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let error: unknown;
    for (let i = 0; i < MAX_FRAME_BYTES / chunk.length + 2 && !error; i++) {
      try {
        d.push(chunk);
        expect(d.buffered).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      } catch (err) {
        error = err;
      }
    }
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(d.buffered).toBe(0);
  });
});

const recordArb: fc.Arbitrary<LinkRecord> = fc.oneof(
  fc.record(
    {
      type: fc.constant('message' as const),
      text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((t) => t.replace(/[\r\n]/g, '') !== '' && !/[\r\n]$/.test(t) && !/\r/.test(t)),
      id: fc.stringMatching(/^[\x21-\x7e]{1,20}$/),
      receipt: fc.constant(true),
      markable: fc.constant(true),
    },
    { requiredKeys: ['type', 'text'] },
  ),
  fc.record({ type: fc.constant('marker' as const), marker: fc.constantFrom(...LINK_MARKERS), id: fc.stringMatching(/^[\x21-\x7e]{1,20}$/) }),
  fc.record({ type: fc.constant('state' as const), state: fc.constantFrom(...LINK_CHAT_STATES) }),
);

/** Splits `bytes` at the given cut points (any positions, any order). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

describe('FrameDecoder under fuzzing (fast-check)', () => {
  it('reads back any sequence of records, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (records, cuts) => {
        const bytes = Buffer.concat(records.map((r) => encodeFrame(r)));
        const d = new FrameDecoder();
        const got = split(bytes, cuts).flatMap((c) => d.push(c));
        expect(got).toEqual(records);
        expect(d.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('splits at every position of one frame give the same record', () => {
    const record: LinkRecord = { type: 'message', id: 'every-byte', text: 'é👋 "x"\n\\', receipt: true };
    const bytes = encodeFrame(record);
    for (let i = 0; i <= bytes.length; i++) {
      const d = new FrameDecoder();
      expect([...d.push(bytes.subarray(0, i)), ...d.push(bytes.subarray(i))]).toEqual([record]);
    }
  });

  it('random bytes, split anywhere: records or the typed errors only, and never more held than the limit', () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Frame-looking input: type bytes, JSON pieces, LFs and control bytes mixed.
      fc
        .array(fc.oneof(fc.constantFrom(0xf5, 0xf6, 0xf7, 0xf8, 0xfd, 0x0a, 0x7b, 0x7d, 0x22, 0x3a, 0x5c), fc.integer({ min: 0, max: 255 })), { maxLength: 300 })
        .map((a) => Uint8Array.from(a)),
      fc.array(recordArb, { maxLength: 4 }).map((rs) => Uint8Array.from(Buffer.concat(rs.map((r) => encodeFrame(r))))),
    );
    fc.assert(
      fc.property(fc.array(bytesArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
        const d = new FrameDecoder({ maxTextBytes: 64 });
        for (const chunk of split(Buffer.concat(pieces), cuts)) {
          try {
            for (const r of d.push(chunk)) {
              expect(['message', 'marker', 'state']).toContain(r.type);
              if (r.type === 'message') expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(64);
            }
          } catch (err) {
            if (!(err instanceof MalformedFrameError || err instanceof FrameTooLargeError)) throw err;
            return;
          }
          expect(d.buffered).toBeLessThanOrEqual(MAX_FRAME_BYTES);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('oversized input in random pieces ends in FrameTooLargeError with the buffer never above the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 * 1024 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        const d = new FrameDecoder();
        d.push(Buffer.from([0xf6]));
        let total = 1;
        for (const n of sizes) {
          try {
            d.push(Buffer.alloc(n, 0x20));
          } catch (err) {
            expect(err).toBeInstanceOf(FrameTooLargeError);
            expect(total + n).toBeGreaterThan(MAX_FRAME_BYTES);
            return;
          }
          total += n;
          expect(d.buffered).toBe(total);
          expect(d.buffered).toBeLessThanOrEqual(MAX_FRAME_BYTES);
        }
      }),
      { numRuns: 200 },
    );
  });
});
