// A reference peer (plain TLS, no ALPN) keeps its FIRST link: duplicates are closed, and its closing our second connection never takes us offline.
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { PeerManager } from '../../bridge-protocol/peers.js';
import { createTlsContext } from '../../bridge-protocol/tls-context.js';
import { directDialer } from '../../bridge-protocol/transport/direct.js';

let us: Identity;
let ref: Identity;
const cleanup: Array<() => unknown> = [];

beforeAll(async () => {
  [us, ref] = await Promise.all([generateIdentity(), generateIdentity()]);
});

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startManager(): Promise<{ m: PeerManager; events: string[]; messages: string[] }> {
  const m = new PeerManager({ tls: createTlsContext(us), dialerFor: () => directDialer(), listen: [{ host: '127.0.0.1', port: 0 }] });
  cleanup.push(() => m.stop());
  await m.start();
  const events: string[] = [];
  const messages: string[] = [];
  m.on('link-up', (i) => events.push(`up ${i.side} gateway=${i.gatewayPeer}`));
  m.on('link-down', (i) => events.push(`down ${i.reason}`));
  m.on('message', (_fp, msg) => messages.push(...msg.text.split('\n')));
  return { m, events, messages };
}

/** The reference peer dialing us: a plain TLS client with its certificate and no ALPN. */
async function refDial(port: number): Promise<tls.TLSSocket> {
  const s = tls.connect({ host: '127.0.0.1', port, key: ref.keyPem, cert: ref.certPem, rejectUnauthorized: false });
  s.on('error', () => {});
  cleanup.push(() => s.destroy());
  await new Promise((r) => s.once('secureConnect', r));
  return s;
}

function lines(s: tls.TLSSocket): string[] {
  const got: string[] = [];
  s.on('data', (c: Buffer) => got.push(...c.toString().split('\n').filter(Boolean)));
  return got;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('reference peer duplicates', () => {
  it('a second connection from the same reference peer is closed; the first keeps working', async () => {
    const { m, events, messages } = await startManager();
    const port = m.addresses()[0]!.port;
    const first = await refDial(port);
    const fromUs = lines(first);
    await until(() => m.isOnline(ref.fingerprint));
    const second = await refDial(port);
    await new Promise((r) => second.once('close', r)); // we closed it
    first.write('still here\n');
    await until(() => messages.includes('still here'));
    await m.send(ref.fingerprint, 'hello first');
    await until(() => fromUs.includes('hello first'));
    expect(first.destroyed).toBe(false);
    expect(events).toEqual(['up server gateway=false']);
    expect(m.linkInfo(ref.fingerprint)).toEqual({ side: 'server', gatewayPeer: false, openLinks: 1 });
  });

  it('when the reference peer closes our dial (it already has a link with us), we stay online on the first link', async () => {
    const { m, events, messages } = await startManager();
    // The reference listener: TCP is accepted at once, TLS waits until the test says so.
    const held: net.Socket[] = [];
    const server = net.createServer((s) => held.push(s.on('error', () => {})));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => server.close());
    m.setPeer(ref.fingerprint, { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    await until(() => held.length === 1); // our dial is in flight

    // Meanwhile the reference peer dials us: that link comes up first.
    const first = await refDial(m.addresses()[0]!.port);
    const fromUs = lines(first);
    await until(() => m.isOnline(ref.fingerprint));

    // Now our dial completes, and the reference closes it right away, as its per-fingerprint
    // lock does (TLSd finishes the handshake, the IM program finds the lock taken and exits).
    const dup = new tls.TLSSocket(held[0]!, { isServer: true, key: ref.keyPem, cert: ref.certPem, requestCert: true, rejectUnauthorized: false });
    dup.on('error', () => {});
    await new Promise((r) => dup.once('secure', r));
    dup.destroy();
    await new Promise((r) => setTimeout(r, 300));

    expect(events).toEqual(['up server gateway=false']);
    expect(m.isOnline(ref.fingerprint)).toBe(true);
    expect(m.linkInfo(ref.fingerprint)).toEqual({ side: 'server', gatewayPeer: false, openLinks: 1 });
    await m.send(ref.fingerprint, 'after the race');
    await until(() => fromUs.includes('after the race'));
    first.write('me too\n');
    await until(() => messages.includes('me too'));
  });
});
