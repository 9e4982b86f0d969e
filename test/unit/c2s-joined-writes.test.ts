// The c2s TCP transport joins what one turn writes into one socket write (one TLS record for a burst of stanzas),
// in order, and writes it before anything that must come after it on the wire: our close, a STARTTLS handshake.
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../gateway/xmpp/log.js';
import { MAX_JOINED_CHARS, TcpTransport } from '../../gateway/xmpp/stream/tcp-transport.js';
import { x } from '../../gateway/xmpp/xml/element.js';

/** A socket that records each write it is given and whether it was ended. */
function recordingSocket() {
  const writes: string[] = [];
  let ended = false;
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  return { socket, writes, ended: () => ended };
}

function transportOn(socket: Duplex) {
  const t = new TcpTransport(socket, { remote: 'test', domain: 'localhost', limits: {}, maxWriteBuffer: 1 << 20, log: silentLogger() });
  t.start({ open() {}, element() {}, close() {}, error() {}, end() {} });
  return t;
}

const msg = (i: number) => x('message', { to: 'me@localhost', id: `m${i}` }, x('body', null, `text ${i}`));
const turn = () => new Promise((r) => setImmediate(r));

describe('c2s joined writes', () => {
  it('what one turn sends is one socket write, in order', async () => {
    const { socket, writes } = recordingSocket();
    const t = transportOn(socket);
    for (let i = 0; i < 5; i++) t.send(msg(i));
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual([[0, 1, 2, 3, 4].map((i) => msg(i).toString()).join('')]);
    t.send(msg(5));
    await turn();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBe(msg(5).toString());
  });

  it('a burst larger than the join limit goes out in pieces, still in order and whole', async () => {
    const { socket, writes } = recordingSocket();
    const t = transportOn(socket);
    const big = 'x'.repeat(1000);
    const n = Math.ceil((3 * MAX_JOINED_CHARS) / 1000);
    for (let i = 0; i < n; i++) t.send(x('message', { id: `m${i}` }, x('body', null, big)));
    await turn();
    expect(writes.length).toBeGreaterThan(2);
    expect(writes.join('')).toBe(Array.from({ length: n }, (_, i) => x('message', { id: `m${i}` }, x('body', null, big)).toString()).join(''));
  });

  it('closing writes what waits first, then the close, then ends the socket', async () => {
    const { socket, writes, ended } = recordingSocket();
    const t = transportOn(socket);
    t.send(msg(1));
    t.closeStream();
    await turn();
    expect(writes.join('')).toBe(`${msg(1).toString()}</stream:stream>`);
    expect(ended()).toBe(true);
    t.destroy();
  });
});
