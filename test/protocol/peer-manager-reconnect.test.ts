// Reconnection: backoff on failures, connect() dials at once, one dial at a time and none while online, a seamless wait for a link on its way.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PeerUnreachableError } from '../../bridge-protocol/errors.js';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { PeerManager, type PeerManagerEvents } from '../../bridge-protocol/peers.js';
import { directDialer } from '../../bridge-protocol/transport/direct.js';
import type { Dialer } from '../../bridge-protocol/transport/types.js';
import { managerPool } from '../support/peer-managers.js';

let ids: Identity[] = [];

beforeAll(async () => {
  ids = await Promise.all([0, 1].map(() => generateIdentity()));
});

const { manager, stopAll } = managerPool({ backoff: { initialMs: 100, random: () => 1, flapWindowMs: 0 } });
afterEach(stopAll);

function record<K extends keyof PeerManagerEvents & string>(m: PeerManager, event: K): Array<Parameters<PeerManagerEvents[K]>[0]> {
  const out: Array<Parameters<PeerManagerEvents[K]>[0]> = [];
  m.on(event, ((info: Parameters<PeerManagerEvents[K]>[0]) => out.push(info)) as PeerManagerEvents[K]);
  return out;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A dialer the test opens by hand, counting the dials it was asked for. */
function gatedDialer(): { dialer: Dialer; calls: number; open: () => void; fail: () => void } {
  const waiting: Array<{ go: () => void; no: () => void }> = [];
  const g = {
    calls: 0,
    dialer: ((target, opts) => {
      g.calls++;
      return new Promise<Duplex>((resolve, reject) =>
        waiting.push({
          go: () => directDialer()(target, opts).then(resolve, reject),
          no: () => reject(new PeerUnreachableError('gate closed', 'connection-refused')),
        }),
      );
    }) as Dialer,
    open: () => waiting.splice(0).forEach((w) => w.go()),
    fail: () => waiting.splice(0).forEach((w) => w.no()),
  };
  return g;
}

describe('reconnection', () => {
  it('retries with doubling delays, and connect() dials at once with the backoff reset', async () => {
    const a = manager(ids[0]!);
    await a.start();
    const failed = record(a, 'dial-failed');
    a.setPeer(ids[1]!.fingerprint, { host: '127.0.0.1', port: await deadPort() });
    await until(() => failed.length >= 4);
    expect(failed.slice(0, 4).map((f) => f.retryInMs)).toEqual([100, 200, 400, 800]);
    expect(failed[0]!.error).toBeInstanceOf(PeerUnreachableError);
    expect((failed[0]!.error as PeerUnreachableError).reason).toBe('connection-refused');
    // A message is waiting: dial now. Its failure shows the backoff started over.
    const n = failed.length;
    a.connect(ids[1]!.fingerprint);
    await until(() => failed.length > n);
    expect(failed[n]!.retryInMs).toBe(100);
  });

  it('reconnects after the peer comes back on the same address', async () => {
    const [a, b] = [manager(ids[0]!), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const ups = record(a, 'link-up');
    const downs = record(a, 'link-down');
    const failed = record(a, 'dial-failed');
    const address = b.addresses()[0]!;
    a.setPeer(ids[1]!.fingerprint, address);
    await until(() => ups.length === 1);
    await b.stop();
    await until(() => downs.length === 1 && failed.length >= 1);
    const b2 = manager(ids[1]!, { listen: [address] });
    await b2.start();
    await until(() => ups.length === 2);
    expect(downs).toHaveLength(1);
    expect(a.isOnline(ids[1]!.fingerprint)).toBe(true);
  });

  it('never dials a peer that is online, and has at most one dial in flight per peer', async () => {
    const gate = gatedDialer();
    const [a, b] = [manager(ids[0]!, { dialerFor: () => gate.dialer }), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    for (let i = 0; i < 5; i++) a.connect(ids[1]!.fingerprint);
    expect(gate.calls).toBe(1);
    gate.open();
    await until(() => a.isOnline(ids[1]!.fingerprint));
    for (let i = 0; i < 5; i++) a.connect(ids[1]!.fingerprint);
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    await new Promise((r) => setTimeout(r, 300));
    expect(gate.calls).toBe(1);
  });

  it('an inbound link from a known peer resets its backoff', async () => {
    const [a, b] = [manager(ids[0]!), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const failed = record(a, 'dial-failed');
    // a only knows a dead address for b, and its retries have grown.
    a.setPeer(ids[1]!.fingerprint, { host: '127.0.0.1', port: await deadPort() });
    await until(() => failed.length >= 4);
    const ups = record(a, 'link-up');
    b.setPeer(ids[0]!.fingerprint, a.addresses()[0]);
    await until(() => ups.length === 1);
    const n = failed.length;
    await b.disconnect(ids[0]!.fingerprint);
    // a redials the dead address again from the first step: 100 ms, then fails and waits 200 ms.
    await until(() => failed.length > n);
    expect(failed[n]!.retryInMs).toBe(200);
  });

  it('a gateway link that ends while our dial to that peer is in flight waits for it: no link-down, no lost send', async () => {
    const gate = gatedDialer();
    const [a, b] = [manager(ids[0]!, { dialerFor: () => gate.dialer }), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const ups = record(a, 'link-up');
    const downs = record(a, 'link-down');
    const atB: string[] = [];
    b.on('message', (_fp, m) => atB.push(m.text));
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]); // a's dial waits at the gate
    b.setPeer(ids[0]!.fingerprint, a.addresses()[0]); // b's dial makes the first link
    await until(() => ups.length === 1);
    // b drops its link (a restart, say) while a's dial is still on its way.
    await b.disconnect(ids[0]!.fingerprint);
    const sent = a.send(ids[1]!.fingerprint, 'sent in between');
    expect(a.isOnline(ids[1]!.fingerprint)).toBe(true);
    gate.open();
    await sent;
    await until(() => atB.includes('sent in between'));
    expect(ups).toHaveLength(1);
    expect(downs).toHaveLength(0);
    expect(a.linkInfo(ids[1]!.fingerprint)?.side).toBe('client');
  });

  it('…and when that dial fails, the peer goes offline at once and waiting sends are refused', async () => {
    const gate = gatedDialer();
    const [a, b] = [manager(ids[0]!, { dialerFor: () => gate.dialer }), manager(ids[1]!)];
    await Promise.all([a.start(), b.start()]);
    const ups = record(a, 'link-up');
    const downs = record(a, 'link-down');
    const failed = record(a, 'dial-failed');
    a.setPeer(ids[1]!.fingerprint, b.addresses()[0]);
    b.setPeer(ids[0]!.fingerprint, a.addresses()[0]);
    await until(() => ups.length === 1);
    await b.disconnect(ids[0]!.fingerprint);
    const sent = a.send(ids[1]!.fingerprint, 'nowhere to go');
    gate.fail();
    await expect(sent).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(downs.map((d) => d.reason)).toEqual(['remote']);
    // And a redial is armed (the peer is known and has an address).
    expect(failed[0]!.retryInMs).toBe(100);
    expect(a.isOnline(ids[1]!.fingerprint)).toBe(false);
  });
});
