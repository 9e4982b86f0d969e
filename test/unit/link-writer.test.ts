// The writing half of a gateway link (acknowledgements): a peer that stops acknowledging is cut
// after ACK_TIMEOUT_MS even while we keep writing; an acknowledgement settles the send and stops
// the watchdog; more acknowledgements than messages is a broken peer and cuts the link.
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACK_TIMEOUT_MS, LinkWriter, MAX_JOINED_BYTES } from '../../bridge-protocol/link-writer.js';
import { FrameDecoder, encodeFrame, type FrameRecord } from '../../bridge-protocol/wire/link-frames.js';

function fakeSocket() {
  const destroyed: Error[] = [];
  const writes: Buffer[] = [];
  const socket = {
    destroyed: false,
    writableEnded: false,
    write(bytes: Buffer, cb: (err?: Error) => void) {
      writes.push(Buffer.from(bytes));
      setImmediate(() => cb());
      return true;
    },
    destroy(err: Error) {
      socket.destroyed = true;
      destroyed.push(err);
    },
  };
  return { socket: socket as unknown as TLSSocket, destroyed, writes };
}

const turn = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('LinkWriter acknowledgements', () => {
  it('cuts a link whose peer stops acknowledging, even while we keep writing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { socket, destroyed } = fakeSocket();
    const w = new LinkWriter(socket, true, 'peer', () => undefined);
    void w.send('one').catch(() => undefined);
    await turn();
    vi.advanceTimersByTime(ACK_TIMEOUT_MS / 2);
    void w.send('two').catch(() => undefined);
    await turn();
    vi.advanceTimersByTime(ACK_TIMEOUT_MS / 2 + 1);
    expect(destroyed.map((e) => e.message)).toEqual([`no acknowledgement from peer for ${ACK_TIMEOUT_MS / 1000} s`]);
  });

  it('settles a send on its acknowledgement and then watches nothing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { socket, destroyed } = fakeSocket();
    const w = new LinkWriter(socket, true, 'peer', () => undefined);
    const sent = w.send('one');
    await turn();
    w.acknowledged(1);
    await sent;
    vi.advanceTimersByTime(ACK_TIMEOUT_MS * 2);
    expect(destroyed).toEqual([]);
  });

  it('takes more acknowledgements than messages for a broken peer', async () => {
    const { socket, destroyed } = fakeSocket();
    const w = new LinkWriter(socket, true, 'peer', () => undefined);
    const sent = w.send('one');
    await turn();
    w.acknowledged(3);
    await sent;
    expect(destroyed.map((e) => e.message)).toEqual(['peer acknowledged more than we sent']);
  });
});

describe('LinkWriter writes', () => {
  const frames = (r: FrameRecord) => encodeFrame(r);

  it('on a link of frames, joins what waits behind a write into one write, in order, each settled by its ack', async () => {
    const { socket, writes } = fakeSocket();
    const w = new LinkWriter(socket, true, 'peer', () => undefined, frames, true);
    const texts = Array.from({ length: 50 }, (_, i) => `message ${i}\nline two`);
    const sent = texts.map((t, i) => w.sendRecord({ type: 'message', text: t, id: `id${i}` }));
    await turn();
    await turn();
    // The first goes out alone (nothing waited yet), the 49 behind it in one write.
    expect(writes.length).toBe(2);
    const decoded = new FrameDecoder<FrameRecord>({ maxTextBytes: 1 << 20, kinds: 'link' }).push(Buffer.concat(writes));
    expect(decoded.map((r) => (r.type === 'message' ? r.text : r.type))).toEqual(texts);
    const settled: number[] = [];
    sent.forEach((p, i) => void p.then(() => settled.push(i)));
    // Acks count LFs (wire/link-control.ts): the first message's, then all but the last one's.
    const lfsOf = (i: number) => encodeFrame({ type: 'message', text: texts[i]!, id: `id${i}` }).filter((b) => b === 0x0a).length;
    w.acknowledged(lfsOf(0));
    await turn();
    expect(settled).toEqual([0]);
    w.acknowledged(texts.slice(1, 49).reduce((n, _, i) => n + lfsOf(i + 1), 0));
    await turn();
    expect(settled.length).toBe(49);
    expect(w.settled).toBe(false);
  });

  it('never joins more than MAX_JOINED_BYTES in one write', async () => {
    const { socket, writes } = fakeSocket();
    const w = new LinkWriter(socket, false, 'peer', () => undefined, frames, true);
    const big = 'x'.repeat(20_000);
    const all = Array.from({ length: 12 }, () => w.sendRecord({ type: 'message', text: big }));
    await Promise.all(all);
    expect(writes.length).toBeGreaterThanOrEqual(4);
    for (const b of writes) expect(b.length).toBeLessThanOrEqual(MAX_JOINED_BYTES);
  });

  it('on a link of lines, writes each message by itself (a reference receiver shows a record as one message)', async () => {
    const { socket, writes } = fakeSocket();
    const w = new LinkWriter(socket, false, 'peer', () => undefined);
    await Promise.all(['a', 'b', 'c'].map((t) => w.send(t)));
    expect(writes.map((b) => b.toString())).toEqual(['a\n', 'b\n', 'c\n']);
  });
});
