// Fuzzing the room frames (x-tlsim-room/1, bridge-protocol/wire/room-frames.ts) in link-frames' codec: every kind,
// the chat markers (mark/marked) included, encodes and decodes back in any reads; any bytes are records or the
// codec's typed errors, nothing else, and a record that comes out is one of the room's kinds.
import fc from 'fast-check';
import { FrameTooLargeError, MalformedFrameError } from '../../bridge-protocol/errors.js';
import { encodeFrame, FrameDecoder } from '../../bridge-protocol/wire/link-frames.js';
import { ROOM_MARKERS, type RoomRecord } from '../../bridge-protocol/wire/room-frames.js';
import { chunks, cuts, fuzzTarget, outcome, tokenBytes } from './support.js';

const id = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
const alias = fc.stringMatching(/^[a-z0-9]{2,32}$/);
const name = alias.chain((a) => fc.nat(999).map((n) => `${a}[${n}]`));
const text = fc.string({ unit: fc.constantFrom('a', ' ', '\n', 'é', '✓', 'z'), maxLength: 30 });
const at = fc.integer({ min: 0, max: 4_000_000_000_000 });
const marker = fc.constantFrom(...ROOM_MARKERS);

const record: fc.Arbitrary<RoomRecord> = fc.oneof(
  fc.record({ type: fc.constant('room-join' as const), alias, after: id }),
  fc.record({ type: fc.constant('room-join' as const), alias, history: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ type: fc.constant('room-welcome' as const), name, alias }),
  fc.record({ type: fc.constant('room-presence' as const), name, alias, present: fc.boolean(), at }),
  fc.record({ type: fc.constant('room-say' as const), id, text }),
  fc.record({ type: fc.constant('room-said' as const), id, name, alias, text, at }),
  fc.record({ type: fc.constant('room-mark' as const), id, marker }),
  fc.record({ type: fc.constant('room-marked' as const), id, marker, name, alias }),
);

const PIECES = ['{', '}', '"id":"a-1"', '"marker":"displayed"', '"marker":"seen"', '"name":"anna[1]"', '"alias":"anna"', '"text":"x"', ',', '\n', ':', '1'];
/** A type byte (raw, not UTF-8), then pieces of JSON bodies and random bytes, a few frames' worth. */
const typeByte = fc.integer({ min: 0xf4, max: 0xfe }).map((b) => Buffer.from([b]));
const garbage = fc.array(fc.oneof(typeByte, tokenBytes(PIECES, { maxTokens: 6 })), { maxLength: 8 }).map((parts) => Buffer.concat(parts));

fuzzTarget('room-frames', (t) => {
  t.property('every kind encodes and decodes back, in any reads', [fc.array(record, { maxLength: 8 }), cuts()], (records, cut) => {
    const d = new FrameDecoder<RoomRecord>({ kinds: 'room' });
    const got = chunks(Buffer.concat(records.map((r) => encodeFrame(r))), cut).flatMap((c) => d.push(c));
    return JSON.stringify(got) === JSON.stringify(records);
  }, { runs: 1000 });

  t.property('any bytes: room records, or a typed error of the codec', [garbage], (bytes) => {
    const r = outcome(() => new FrameDecoder<RoomRecord>({ kinds: 'room' }).push(bytes));
    if (!r.ok) return r.error instanceof MalformedFrameError || r.error instanceof FrameTooLargeError;
    return r.value.every((x) => x.type.startsWith('room-') && (x.type !== 'room-mark' || (ROOM_MARKERS as readonly string[]).includes(x.marker)));
  }, { runs: 3000 });
});
