// Room frames (x-tlsim-room/1, wire/room-frames.ts) in link-frames' one codec: each kind both ways, split at any
// byte; a reserved kind skipped; a frame outside the grammar a MalformedFrameError; the two kinds never cross (a
// room frame is not a link record, nor the reverse).
import { describe, expect, it } from 'vitest';
import { MalformedFrameError } from '../../bridge-protocol/errors.js';
import { FrameDecoder, encodeFrame } from '../../bridge-protocol/wire/link-frames.js';
import type { RoomRecord } from '../../bridge-protocol/wire/room-frames.js';

const room = () => new FrameDecoder<RoomRecord>({ kinds: 'room' });
const frame = (type: number, json: string): Buffer => Buffer.concat([Buffer.from([type]), Buffer.from(json, 'utf8'), Buffer.from('\n')]);

describe('room frames', () => {
  const records: RoomRecord[] = [
    { type: 'room-join', alias: 'bert', after: 'ab12-7' },
    { type: 'room-join', alias: 'bert', history: 20 },
    { type: 'room-welcome', name: 'bert[3]', alias: 'bert' },
    { type: 'room-welcome', refused: "I don't recognize you." },
    { type: 'room-presence', name: 'carol[1]', alias: 'carol', present: true, at: 1_767_225_600_000 },
    { type: 'room-say', id: 'msg-1', text: 'two\nlines' },
    { type: 'room-said', id: 'ab12-8', name: 'bert[3]', alias: 'bert', text: 'zoë ✓', at: 1_767_225_600_123, echo: 'msg-1', history: true },
    { type: 'room-join', alias: 'bert', after: 'ab12-7', history: 100 },
    { type: 'room-mark', id: 'ab12-8', marker: 'displayed' },
    { type: 'room-marked', id: 'ab12-8', marker: 'displayed', name: 'anna[2]', alias: 'anna' },
  ];

  it('each kind goes through, whole or one byte at a time', () => {
    const bytes = Buffer.concat(records.map((r) => encodeFrame(r)));
    expect(room().push(bytes)).toEqual(records);
    const d = room();
    const got: RoomRecord[] = [];
    for (const b of bytes) got.push(...d.push(Buffer.from([b])));
    expect(got).toEqual(records);
  });

  it('a reserved kind and unknown fields are skipped; a text is made XML-legal', () => {
    const got = room().push(Buffer.concat([frame(0xfc, '{"future":1}'), frame(0xf8, '{"id":"m","text":"a\\u0000b","new":true}')]));
    expect(got).toEqual([{ type: 'room-say', id: 'm', text: 'a\ufffdb' }]);
  });

  it('a frame outside the grammar is a MalformedFrameError', () => {
    expect(() => room().push(frame(0xf9, '{"id":"x","text":"t"}'))).toThrow(MalformedFrameError);
    expect(() => room().push(frame(0xf8, '{"id":"has space","text":"t"}'))).toThrow(MalformedFrameError);
    expect(() => room().push(frame(0xf5, '[1]'))).toThrow(MalformedFrameError);
    expect(() => encodeFrame({ type: 'room-join', alias: 'NO' })).toThrow(RangeError);
    // A marker names a room message by its id, and is one of XEP-0333's.
    expect(() => room().push(frame(0xfa, '{"id":"ab12-8","marker":"read"}'))).toThrow(MalformedFrameError);
    expect(() => room().push(frame(0xfb, '{"id":"ab12-8","marker":"displayed"}'))).toThrow(MalformedFrameError);
    expect(() => encodeFrame({ type: 'room-mark', id: 'has space', marker: 'displayed' })).toThrow(RangeError);
  });

  it('the kinds do not cross: the same bytes are a message on a link and a join on a room connection', () => {
    const bytes = encodeFrame({ type: 'message', text: 'hi' });
    expect(new FrameDecoder().push(bytes)).toEqual([{ type: 'message', text: 'hi' }]);
    expect(() => room().push(bytes)).toThrow(MalformedFrameError);
    // A room welcome read by a link's decoder is no room record: a malformed marker there (the link is closed).
    expect(() => new FrameDecoder().push(encodeFrame({ type: 'room-welcome', refused: 'x' }))).toThrow(MalformedFrameError);
  });
});
