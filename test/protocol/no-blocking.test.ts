// Nothing blocks: stalled handshakes on our listener and hanging dials do not delay a conversation on another link.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { PeerManager, type PeerAddress } from '../../bridge-protocol/peers.js';
import { createTlsContext } from '../../bridge-protocol/tls-context.js';
import { directDialer } from '../../bridge-protocol/transport/direct.js';
import type { Dialer } from '../../bridge-protocol/transport/types.js';

const STALL_MS = 20_000; // handshake and dial timeouts: every stall below lasts this long
const STALLED_CONNECTIONS = 20;
const ROUND_TRIPS = 50;

describe('no blocking', () => {
  let idA: Identity;
  let idB: Identity;
  const cleanup: Array<() => unknown> = [];

  beforeAll(async () => {
    [idA, idB] = await Promise.all([generateIdentity(), generateIdentity()]);
  });

  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it(`${STALLED_CONNECTIONS} silent connections and two hanging dials do not delay ${ROUND_TRIPS} round trips`, async () => {
    // A blackhole: accepts TCP and never says a word of TLS.
    const blackholeSockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => blackholeSockets.push(s.on('error', () => {})));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      blackholeSockets.forEach((s) => s.destroy());
      blackhole.close();
    });
    // A dialer that never resolves (a Tor circuit that never completes), until aborted.
    const hanging: Dialer = (_t, opts) =>
      new Promise<Duplex>((_resolve, reject) => opts?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const dialerFor = (address: PeerAddress): Dialer => (address.host === 'hang.invalid' ? hanging : directDialer());

    const common = {
      dialerFor,
      listen: [{ host: '127.0.0.1', port: 0 }],
      handshakeTimeoutMs: STALL_MS,
      firstByteTimeoutMs: STALL_MS,
      dialTimeoutMs: STALL_MS,
    };
    const a = new PeerManager({ tls: createTlsContext(idA), ...common });
    const b = new PeerManager({ tls: createTlsContext(idB), ...common });
    cleanup.push(() => a.stop(), () => b.stop());
    await Promise.all([a.start(), b.start()]);
    const failures: string[] = [];
    a.on('inbound-rejected', (i) => failures.push(`inbound: ${i.reason}`));
    a.on('dial-failed', (i) => failures.push(`dial: ${i.error.message}`));

    // 20 connections to a's listener that never send a ClientHello.
    const stalled = Array.from({ length: STALLED_CONNECTIONS }, () => net.connect(a.addresses()[0]!.port, '127.0.0.1'));
    stalled.forEach((s) => s.on('error', () => {}));
    cleanup.push(() => stalled.forEach((s) => s.destroy()));
    await Promise.all(stalled.map((s) => new Promise((r) => s.once('connect', r))));
    // And a dials two peers that will never answer: one TLS blackhole, one dialer that hangs.
    a.setPeer('aa'.repeat(32), { host: '127.0.0.1', port: (blackhole.address() as net.AddressInfo).port });
    a.setPeer('bb'.repeat(32), { host: 'hang.invalid', port: 1 });
    await new Promise((r) => setTimeout(r, 100)); // let all of them settle into their stall

    const started = Date.now();
    // b dials a: its handshake goes through the listener the 20 stalls are sitting on.
    const up = new Promise((r) => a.once('link-up', r));
    b.on('message', (fp, m) => void b.send(fp, `echo ${m.text}`));
    b.setPeer(idA.fingerprint, a.addresses()[0]);
    await up;
    const echoes: string[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const echo = new Promise<string>((resolve) => a.once('message', (_fp, m) => resolve(m.text)));
      await a.send(idB.fingerprint, `ping ${i}`);
      echoes.push(await echo);
    }
    const elapsed = Date.now() - started;

    expect(echoes).toEqual(Array.from({ length: ROUND_TRIPS }, (_, i) => `echo ping ${i}`));
    // Every stall was still in progress when the conversation finished: it never waited for them.
    expect(failures).toEqual([]);
    expect(stalled.every((s) => !s.destroyed)).toBe(true);
    expect(a.isOnline('aa'.repeat(32))).toBe(false);
    // Measured against the stall timeouts, not the wall clock of this machine.
    expect(elapsed).toBeLessThan(STALL_MS / 2);

    // stop() drops the stalled handshakes and the hanging dials at once.
    const closed = Promise.all(stalled.map((s) => new Promise((r) => (s.destroyed ? r(null) : s.once('close', r)))));
    await a.stop();
    await closed;
    expect(failures).toEqual([]); // aborted by stop(): not reported as failures
  }, 60_000);

  it('handshake pacing: silent connections and one stalled mid-handshake do not hold the only slot; a burst is queued, not refused', async () => {
    const idsC = await Promise.all([0, 1, 2, 3].map(() => generateIdentity()));
    const opts = { dialerFor: () => directDialer(), listen: [{ host: '127.0.0.1', port: 0 }], handshakeTimeoutMs: STALL_MS, firstByteTimeoutMs: STALL_MS };
    // One handshake at a time: the strictest pacing.
    const a = new PeerManager({ tls: createTlsContext(idA), ...opts, maxConcurrentHandshakes: 1 });
    cleanup.push(() => a.stop());
    await a.start();
    const port = a.addresses()[0]!.port;
    const rejected: string[] = [];
    a.on('inbound-rejected', (i) => rejected.push(i.reason));
    // 10 that never send a byte, and one that sends the start of a record and then nothing.
    const silent = Array.from({ length: 10 }, () => net.connect(port, '127.0.0.1'));
    const midway = net.connect(port, '127.0.0.1', () => midway.write(Buffer.from([0x16, 0x03, 0x01])));
    const raw = [...silent, midway];
    raw.forEach((s) => s.on('error', () => {}));
    cleanup.push(() => raw.forEach((s) => s.destroy()));
    await new Promise((r) => setTimeout(r, 100));

    const started = Date.now();
    const peers = idsC.map((id) => new PeerManager({ tls: createTlsContext(id), ...opts }));
    cleanup.push(...peers.map((p) => () => p.stop()));
    await Promise.all(peers.map((p) => p.start()));
    const ups = new Set<string>();
    const allUp = new Promise<void>((resolve) =>
      a.on('link-up', (i) => {
        ups.add(i.fingerprint);
        if (ups.size === peers.length) resolve();
      }),
    );
    // Four dial at once: they wait for the slot in turn, none is refused.
    peers.forEach((p) => p.setPeer(idA.fingerprint, { host: '127.0.0.1', port }));
    await allUp;
    // The half-started handshake gave its slot up after a moment; the silent ones never took it.
    expect(Date.now() - started).toBeLessThan(STALL_MS / 2);
    expect(rejected).toEqual([]);
    expect(raw.every((s) => !s.destroyed)).toBe(true);
  }, 60_000);
});
