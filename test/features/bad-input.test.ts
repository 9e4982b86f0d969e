// Bad input over real TCP sockets: each time the offending stream, and only it, is closed
// with the right stream error, while another logged-in client keeps working.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x } from '../../gateway/xmpp/xml/element.js';
import { PING, probeFeature, testPing } from '../support/core-features.js';
import { stanzaErrorOf, startTestGateway, streamHeader, type TestClient, type TestGateway } from '../support/xmpp-harness.js';

let gw: TestGateway;
let bystander: TestClient;

beforeAll(async () => {
  gw = await startTestGateway({ tcp: true, features: [testPing] });
  bystander = await gw.login({ transport: 'tcp', resource: 'bystander' });
});
afterAll(() => gw.stop());

async function bystanderStillWorks(): Promise<void> {
  expect((await bystander.iq(PING)).attrs.type).toBe('result');
}

/** Opens a raw TCP stream, sends `input` (after a stream header unless `raw`), returns the stream error. */
async function streamErrorFor(input: string | Buffer, opts: { raw?: boolean } = {}): Promise<string | undefined> {
  const c = await gw.connectTcp();
  if (!opts.raw) await c.open();
  c.send(typeof input === 'string' ? input : input.toString('latin1'));
  const { streamError } = await c.closed;
  return streamError;
}

const LAUGHS =
  `<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  `]>`;

describe('bad input closes only its own stream', () => {
  it('malformed XML → not-well-formed', async () => {
    expect(await streamErrorFor(`<message><body>hi</message>`)).toBe('not-well-formed');
    await bystanderStillWorks();
  });

  it('DOCTYPE with entities (billion laughs) → restricted-xml, before anything is expanded', async () => {
    expect(await streamErrorFor(LAUGHS + streamHeader().slice(21) + '<message><body>&lol9;</body></message>', { raw: true })).toBe(
      'restricted-xml',
    );
    expect(await streamErrorFor(`<message><body>&lol9;</body></message>`)).toBe('restricted-xml');
    await bystanderStillWorks();
  });

  it('a 10 MB stanza → policy-violation after about the stanza limit', async () => {
    const c = await gw.connectTcp();
    await c.open();
    const socket = (c as unknown as { socket: import('node:net').Socket }).socket;
    socket.on('error', () => {});
    socket.write(`<message><body>`);
    const chunk = 'a'.repeat(64 * 1024);
    let written = 0;
    // Write with backpressure, as a real sender would; the server cuts us long before 10 MB.
    const writer = (async () => {
      while (written < 10 * 1024 * 1024 && !socket.destroyed && socket.writable) {
        written += chunk.length;
        if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
      }
    })();
    expect(await c.closed).toEqual({ streamError: 'policy-violation' });
    c.kill();
    await writer;
    await bystanderStillWorks();
  });

  it('10 000-deep nesting → policy-violation', async () => {
    expect(await streamErrorFor(`<message>${'<a>'.repeat(10_000)}`)).toBe('policy-violation');
    await bystanderStillWorks();
  });

  it('invalid UTF-8 → not-well-formed', async () => {
    const c = await gw.connectTcp();
    await c.open();
    const socket = (c as unknown as { socket: import('node:net').Socket }).socket;
    socket.write(Buffer.concat([Buffer.from('<message><body>'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('</body></message>')]));
    expect(await c.closed).toEqual({ streamError: 'not-well-formed' });
    await bystanderStillWorks();
  });

  it('wrong stream namespace → invalid-namespace', async () => {
    const header = `<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`;
    expect(await streamErrorFor(header, { raw: true })).toBe('invalid-namespace');
    const wrongStream = `<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' to='localhost' version='1.0'>`;
    expect(await streamErrorFor(wrongStream, { raw: true })).toBe('invalid-namespace');
    await bystanderStillWorks();
  });

  it('a stanza before authentication → not-authorized', async () => {
    expect(await streamErrorFor(`<iq type='get' id='1'>${PING}</iq>`)).toBe('not-authorized');
    await bystanderStillWorks();
  });

  it('an unknown top-level element after bind → unsupported-stanza-type', async () => {
    const c = await gw.login({ transport: 'tcp', resource: 'odd' });
    c.send(`<foo xmlns='urn:example:foo'/>`);
    expect(await c.closed).toEqual({ streamError: 'unsupported-stanza-type' });
    await bystanderStillWorks();
  });

  it('an iq with two children → bad-request stanza error, and the stream stays open', async () => {
    const c = await gw.login({ transport: 'tcp', resource: 'two' });
    expect(stanzaErrorOf(await c.iq(`${PING}${PING}`))).toBe('bad-request');
    expect((await c.iq(PING)).attrs.type).toBe('result');
    await bystanderStillWorks();
  });

  it('a client that connects and says nothing is cut after the header timeout', async () => {
    const quick = await startTestGateway({ tcp: true, features: [testPing], server: { timeouts: { headerMs: 200 } } });
    try {
      const c = await quick.connectTcp();
      expect(await c.closed).toEqual({ streamError: 'connection-timeout' });
    } finally {
      await quick.stop();
    }
  });

  it('a client that never reads is cut once the bounded write buffer is full', async () => {
    const probe = probeFeature();
    const small = await startTestGateway({ tcp: true, features: [testPing, probe.feature], server: { maxWriteBuffer: 64 * 1024 } });
    try {
      const c = await small.login({ transport: 'tcp', resource: 'deaf' });
      const closed: string[] = [];
      probe.ctx().on('session-closed', (s) => closed.push(s.jid.resource));
      const socket = (c as unknown as { socket: import('node:stream').Duplex }).socket;
      socket.pause(); // stops reading; the kernel buffers fill, then ours
      const body = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 2000 && closed.length === 0; i++) {
        probe.ctx().deliver(x('message', { to: c.jid, type: 'chat', from: 'localhost' }, x('body', null, body)));
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await expect.poll(() => closed, { timeout: 5000 }).toEqual(['deaf']);
    } finally {
      await small.stop();
    }
  });

  it('a socket dropped mid-stanza is simply forgotten', async () => {
    const socket = connect({ host: '127.0.0.1', port: gw.c2sPort! });
    await new Promise((r) => socket.once('connect', r));
    socket.write(`${streamHeader()}<message><body>half`);
    socket.destroy();
    await bystanderStillWorks();
  });
});
