// Peer manager over real TCP on 127.0.0.1: links both ways, authorize, fingerprint checks, handshake limits, clean stop.
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FingerprintMismatchError, TimeoutError } from '../../bridge-protocol/errors.js';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { PeerManager, type PeerManagerEvents } from '../../bridge-protocol/peers.js';
import { managerPool } from '../support/peer-managers.js';

let ids: Identity[] = [];

beforeAll(async () => {
  ids = await Promise.all([0, 1, 2].map(() => generateIdentity()));
});

const { manager, stopAll } = managerPool();
afterEach(stopAll);

function next<K extends keyof PeerManagerEvents & string>(
  m: PeerManager,
  event: K,
  pred: (...args: Parameters<PeerManagerEvents[K]>) => boolean = () => true,
  ms = 15_000,
): Promise<Parameters<PeerManagerEvents[K]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const off = m.on(event, ((...args: Parameters<PeerManagerEvents[K]>) => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    }) as PeerManagerEvents[K]);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PeerManager', () => {
  it('links two gateways: one link-up on each side, messages both ways, gatewayPeer via ALPN', async () => {
    const [a, b] = [manager(ids[0]!), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const upA = next(a, 'link-up');
    const upB = next(b, 'link-up');
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    const [[infoA], [infoB]] = await Promise.all([upA, upB]);
    expect(infoA).toMatchObject({ fingerprint: ids[1]!.fingerprint, side: 'client', gatewayPeer: true });
    expect(infoB).toMatchObject({ fingerprint: ids[0]!.fingerprint, side: 'server', gatewayPeer: true });
    expect(a.isOnline(ids[1]!.fingerprint)).toBe(true);
    expect(b.onlinePeers()).toEqual([ids[0]!.fingerprint]);

    const gotB = next(b, 'message');
    await a.send(ids[1]!.fingerprint, 'hello b');
    expect((await gotB)[1].text).toBe('hello b');
    const gotA = next(a, 'message');
    await b.send(ids[0]!.fingerprint, 'hello a');
    expect((await gotA)[1].text).toBe('hello a');
    expect(a.linkInfo(ids[1]!.fingerprint)).toEqual({ side: 'client', gatewayPeer: true, openLinks: 1 });
  });

  it('send() to a peer without a link rejects with PeerUnreachableError', async () => {
    const a = manager(ids[0]!);
    await a.start();
    await expect(a.send(ids[1]!.fingerprint, 'x')).rejects.toMatchObject({ code: 'PEER_UNREACHABLE', reason: 'unknown' });
    a.setPeer(ids[1]!.fingerprint, undefined);
    await expect(a.send(ids[1]!.fingerprint, 'x')).rejects.toThrow(/not connected/);
  });

  it('authorize() rejects after the handshake, before any data is read; the peer is cut and stays cut', async () => {
    const b = manager(ids[1]!, { authorize: (fp) => (fp === ids[0]!.fingerprint ? 'reject' : 'accept') });
    await b.start();
    const messages: string[] = [];
    const ups: string[] = [];
    b.on('message', (_fp, m) => messages.push(m.text));
    b.on('link-up', (i) => ups.push(i.fingerprint));
    const rejected = next(b, 'inbound-rejected');
    // A plain TLS client that writes the moment its handshake completes.
    const { port } = b.addresses()[0]!;
    const client = tls.connect({ host: '127.0.0.1', port, key: ids[0]!.keyPem, cert: ids[0]!.certPem, rejectUnauthorized: false });
    client.on('error', () => {});
    client.on('secureConnect', () => client.write('you should never see this\n'));
    const closed = new Promise((r) => client.on('close', r));
    const [info] = await rejected;
    expect(info).toMatchObject({ fingerprint: ids[0]!.fingerprint, reason: 'not authorized' });
    await closed;
    expect(messages).toEqual([]);
    expect(ups).toEqual([]);
    expect(b.isOnline(ids[0]!.fingerprint)).toBe(false);
  });

  it('a dial answered by another identity fails with FingerprintMismatchError naming both, and retries with backoff', async () => {
    const [a, c] = [manager(ids[0]!, { backoff: { initialMs: 200, random: () => 1 } }), manager(ids[2]!)];
    await Promise.all([a.start(), c.start()]);
    const expected = ids[1]!.fingerprint;
    const failed = next(a, 'dial-failed');
    a.setPeer(expected, c.addresses()[0]); // c answers where b was expected
    const [info] = await failed;
    expect(info.error).toBeInstanceOf(FingerprintMismatchError);
    const err = info.error as FingerprintMismatchError;
    expect(err.expected).toBe(expected);
    expect(err.actual).toBe(ids[2]!.fingerprint);
    expect(err.message).toContain(expected);
    expect(err.message).toContain(ids[2]!.fingerprint);
    expect(info.retryInMs).toBe(200);
    expect(a.isOnline(expected)).toBe(false);
    expect(c.onlinePeers()).toEqual([]);
    const [again] = await next(a, 'dial-failed');
    expect(again.retryInMs).toBe(400);
  });

  it('a handshake that never starts times out and is reported; maxPendingHandshakes closes the excess at once', async () => {
    const b = manager(ids[1]!, { handshakeTimeoutMs: 1500, maxPendingHandshakes: 2 });
    await b.start();
    const { port } = b.addresses()[0]!;
    const rejections: Array<{ reason: string; error?: Error }> = [];
    b.on('inbound-rejected', (i) => rejections.push(i));
    const stalled = [0, 1].map(() => net.connect(port, '127.0.0.1'));
    await Promise.all(stalled.map((s) => new Promise((r) => s.once('connect', r))));
    // Let the server see both connections before the third one arrives.
    await new Promise((r) => setTimeout(r, 100));
    const third = net.connect(port, '127.0.0.1');
    third.on('error', () => {});
    await new Promise((r) => third.once('close', r));
    expect(rejections[0]).toMatchObject({ reason: 'too many handshakes in progress' });
    // The two stalled ones are cut by the handshake timeout.
    await Promise.all(stalled.map((s) => new Promise((r) => s.once('close', r))));
    const timeouts = rejections.filter((r) => r.error instanceof TimeoutError);
    expect(timeouts).toHaveLength(2);
  });

  it('a connection that sends no ClientHello is dropped after firstByteTimeoutMs, well before the handshake timeout', async () => {
    const b = manager(ids[1]!, { handshakeTimeoutMs: 20_000, firstByteTimeoutMs: 300 });
    await b.start();
    const rejected = next(b, 'inbound-rejected');
    const started = Date.now();
    const silent = net.connect(b.addresses()[0]!.port, '127.0.0.1');
    silent.on('error', () => {});
    await new Promise((r) => silent.once('close', r));
    const [info] = await rejected;
    expect(info.error).toBeInstanceOf(TimeoutError);
    expect(info.error!.message).toMatch(/ClientHello timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(b.onlinePeers()).toEqual([]);
  });

  it('disconnect() closes the link and the known peer is not redialed until connect()', async () => {
    const [a, b] = [manager(ids[0]!, { backoff: { initialMs: 50 } }), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const up = next(a, 'link-up');
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    await up;
    const downB = next(b, 'link-down');
    const downA = next(a, 'link-down');
    await a.disconnect(ids[1]!.fingerprint);
    expect((await downA)[0].reason).toBe('local');
    expect((await downB)[0].reason).toBe('remote');
    // Well past several backoff periods: no redial.
    await new Promise((r) => setTimeout(r, 500));
    expect(a.isOnline(ids[1]!.fingerprint)).toBe(false);
    expect(b.isOnline(ids[0]!.fingerprint)).toBe(false);
    const again = next(a, 'link-up');
    a.connect(ids[1]!.fingerprint);
    expect((await again)[0].fingerprint).toBe(ids[1]!.fingerprint);
  });

  it('removePeer() closes the link and forgets the peer', async () => {
    const [a, b] = [manager(ids[0]!, { backoff: { initialMs: 50 } }), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const up = next(b, 'link-up');
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    await up;
    const down = next(b, 'link-down');
    a.removePeer(ids[1]!.fingerprint);
    await down;
    await new Promise((r) => setTimeout(r, 300));
    expect(a.isOnline(ids[1]!.fingerprint)).toBe(false);
    a.connect(ids[1]!.fingerprint); // unknown now: nothing to dial
    await new Promise((r) => setTimeout(r, 200));
    expect(b.onlinePeers()).toEqual([]);
  });

  it('stop() closes listeners and links with close_notify and leaves no sockets or timers behind', async () => {
    const tcpHandles = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = { tcp: tcpHandles(), timers: timers() };
    const [a, b] = [manager(ids[0]!), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const up = next(b, 'link-up');
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    // Also a peer that cannot be reached, so a redial timer is armed.
    a.setPeer('ab'.repeat(32), { host: '127.0.0.1', port: await freePort() });
    await up;
    const port = a.addresses()[0]!.port;
    const downB = next(b, 'link-down');
    await a.stop();
    expect((await downB)[0].reason).toBe('remote'); // a clean close reached b, not a reset
    await b.stop();
    await until(() => tcpHandles() <= before.tcp);
    expect(timers()).toBeLessThanOrEqual(before.timers);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
