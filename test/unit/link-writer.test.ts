// The writing half of a gateway link (acknowledgements): a peer that stops acknowledging is cut
// after ACK_TIMEOUT_MS even while we keep writing; an acknowledgement settles the send and stops
// the watchdog; more acknowledgements than messages is a broken peer and cuts the link.
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACK_TIMEOUT_MS, LinkWriter } from '../../bridge-protocol/link-writer.js';

function fakeSocket() {
  const destroyed: Error[] = [];
  const socket = {
    destroyed: false,
    writableEnded: false,
    write(_bytes: Buffer, cb: (err?: Error) => void) {
      setImmediate(() => cb());
      return true;
    },
    destroy(err: Error) {
      socket.destroyed = true;
      destroyed.push(err);
    },
  };
  return { socket: socket as unknown as TLSSocket, destroyed };
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
