// Files between gateways on the wire (wire/file-frames.ts): offers, replies and chunks read back as written; bad
// ones are the codec's MalformedFrameError (the link that sent them is closed); and the link writer puts chat
// ahead of file chunks already waiting, and never sends a file frame again on another link.
import type { TLSSocket } from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedFrameError } from '../../bridge-protocol/errors.js';
import { LinkWriter } from '../../bridge-protocol/link-writer.js';
import { MAX_CHUNK_BYTES, type FileRecord } from '../../bridge-protocol/wire/file-frames.js';
import { FrameDecoder, encodeFrame, type LinkRecord } from '../../bridge-protocol/wire/link-frames.js';

const frame = (type: number, json: string): Buffer => Buffer.concat([Buffer.from([type]), Buffer.from(json, 'utf8'), Buffer.from('\n')]);
const SHA = 'ab'.repeat(32);

describe('file frames', () => {
  it('reads back an offer, the replies and a chunk of binary bytes', () => {
    const records: FileRecord[] = [
      { type: 'file-offer', tid: 'T1234567', name: 'photo ☃.jpg', size: 123456, contentType: 'image/jpeg', sha256: SHA },
      { type: 'file-reply', tid: 'T1234567', offset: 4096, resume: true },
      { type: 'file-reply', tid: 'T1234567', offset: 8192 },
      { type: 'file-reply', tid: 'T1234567', done: true },
      { type: 'file-reply', tid: 'T1234567', error: 'too large' },
      { type: 'file-chunk', tid: 'T1234567', at: 4096, data: Buffer.from([0, 0x0a, 0xfe, 0xff, 0xf5]) },
    ];
    const bytes = Buffer.concat(records.map((r) => encodeFrame(r)));
    // One LF per frame: the chunk's LF and control bytes are inside its base64.
    expect(bytes.filter((b) => b === 0x0a).length).toBe(records.length);
    expect(bytes.includes(0xfe) || bytes.includes(0xff)).toBe(false);
    expect(new FrameDecoder().push(bytes)).toEqual(records);
  });

  it('refuses chunks over MAX_CHUNK_BYTES when writing', () => {
    expect(() => encodeFrame({ type: 'file-chunk', tid: 'T1234567', at: 0, data: Buffer.alloc(MAX_CHUNK_BYTES + 1) })).toThrow(RangeError);
    expect(() => encodeFrame({ type: 'file-offer', tid: 'x', name: 'a', size: 1, contentType: 'a/b', sha256: SHA })).toThrow(RangeError);
  });

  // Found by test/fuzz/file-frames.fuzz.test.ts: these went out and the receiver refused them, closing the link.
  it('refuses a reply or a chunk whose offset is not a whole number when writing', () => {
    expect(() => encodeFrame({ type: 'file-reply', tid: 'T1234567', offset: -1 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: 'file-chunk', tid: 'T1234567', at: 1.5, data: Buffer.from('x') })).toThrow(RangeError);
  });

  it('sends an offer named with 255 characters outside the BMP so that the receiver takes it (it counts UTF-16 units)', () => {
    // The sender cut names to 255 characters, the receiver refuses more than 255 UTF-16 units: such an offer closed
    // the link, on every link, since the sender offers again on each. A stored name is up to 255 characters.
    const name = '😀'.repeat(255);
    const [got] = new FrameDecoder().push(encodeFrame({ type: 'file-offer', tid: 'T1234567', name, size: 1, contentType: 'a/b', sha256: SHA }));
    expect(got).toMatchObject({ type: 'file-offer', name: '😀'.repeat(127) });
  });

  it.each([
    ['an offer without a hash', frame(0xfa, '{"tid":"T1234567","name":"a","size":1}')],
    ['an offer with a negative size', frame(0xfa, `{"tid":"T1234567","name":"a","size":-1,"sha256":"${SHA}"}`)],
    ['a reply without a transfer id', frame(0xfb, '{"offset":1}')],
    ['a chunk whose data is not base64', frame(0xfc, '{"tid":"T1234567","at":0,"data":"not base64!"}')],
    ['a chunk whose data only looks like base64 ("A", which Buffer.from reads as no bytes)', frame(0xfc, '{"tid":"T1234567","at":0,"data":"A"}')],
    ['a chunk whose data is padding alone', frame(0xfc, '{"tid":"T1234567","at":0,"data":"=="}')],
    ['a chunk whose base64 lacks its padding', frame(0xfc, '{"tid":"T1234567","at":0,"data":"QQ"}')],
    ['a chunk over the limit', frame(0xfc, `{"tid":"T1234567","at":0,"data":"${Buffer.alloc(MAX_CHUNK_BYTES + 3).toString('base64')}"}`)],
  ])('%s is a MalformedFrameError', (_what, bytes) => {
    expect(() => new FrameDecoder().push(bytes)).toThrow(MalformedFrameError);
  });

  it('any JSON in a file frame is a record of the grammar or a MalformedFrameError, nothing else (fast-check)', () => {
    const field = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.base64String({ maxLength: 200 }));
    const body = fc.record(
      { tid: fc.oneof(fc.constant('T1234567'), fc.string()), name: field, size: field, type: field, sha256: fc.oneof(fc.constant(SHA), fc.string()), offset: field, resume: field, done: field, error: field, at: field, data: field },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(0xfa, 0xfb, 0xfc), body, (type, o) => {
        try {
          for (const r of new FrameDecoder().push(frame(type, JSON.stringify(o)))) {
            expect(r.type).toMatch(/^file-(offer|reply|chunk)$/);
            if (r.type === 'file-chunk') expect(r.data.length).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
            if (r.type === 'file-offer') expect(Number.isSafeInteger(r.size) && r.size >= 0).toBe(true);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedFrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

function recordingSocket() {
  const written: Buffer[] = [];
  const socket = {
    destroyed: false,
    writableEnded: false,
    write(bytes: Buffer, cb: (err?: Error) => void) {
      written.push(bytes);
      setImmediate(() => cb());
      return true;
    },
    destroy() {},
  };
  return { socket: socket as unknown as TLSSocket, written };
}

describe('LinkWriter with files', () => {
  it('writes a chat message ahead of file chunks already waiting, and drops file frames from what goes to the next link', async () => {
    const { socket, written } = recordingSocket();
    const w = new LinkWriter(socket, true, 'peer', () => undefined, (r) => encodeFrame(r));
    const chunk = (at: number): LinkRecord => ({ type: 'file-chunk', tid: 'T1234567', at, data: Buffer.alloc(10, at) });
    for (let i = 0; i < 4; i++) void w.sendRecord(chunk(i)).catch(() => undefined);
    void w.sendRecord({ type: 'message', text: 'hello' }).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const decoded = new FrameDecoder().push(Buffer.concat(written));
    // The first chunk was being written already; the message overtook the three behind it.
    expect(decoded.map((r) => r.type)).toEqual(['file-chunk', 'message']);
    const taken = w.takeUnfinished();
    expect(taken.map((t) => t.record.type)).toEqual(['message']);
  });
});
