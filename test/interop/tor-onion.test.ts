// An onion round trip offline: two gateway tors launched by launch.ts on a private Tor network; B dials A's onion through its SOCKS port (research/tor.md §4).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PeerUnreachableError } from '../../bridge-protocol/errors.js';
import { Backoff } from '../../bridge-protocol/peers/backoff.js';
import { socks5Dialer } from '../../bridge-protocol/transport/socks5.js';
import { generateOnionKey, type OnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { DEFAULT_ONION_VIRTUAL_PORT, TorService, type TorWarning } from '../../bridge-protocol/tor/service.js';
import { closeServer, listenLocal } from '../support/net.js';
import { startTorNetwork, type TorNetwork } from '../support/tor-network.js';
import { interopSuite } from '../support/tools.js';

const READY_TIMEOUT_MS = 75_000;

interface OnionTarget {
  key: OnionKey;
  target: string;
}

interopSuite('tor onion round trip on a private network', ['tor'], () => {
  let dir = '';
  let network: TorNetwork | undefined;
  const services: TorService[] = [];
  const echo = net.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const t0 = Date.now();
  const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const timeline: string[] = [];

  /** One TorService as a gateway runs it, plus the network's options; resolves once `until` fired. */
  async function client(name: string, until: 'ready' | 'published', onion?: OnionTarget): Promise<TorService> {
    // At most one retry of the whole bootstrap (TESTING: a tiny network is occasionally slow to hand out descriptors).
    for (let attempt = 1; ; attempt++) {
      const svc = makeService(join(dir, `${name}-${attempt}`), onion);
      services.push(svc);
      const warnings: string[] = [];
      svc.on('warning', (w: TorWarning) => warnings.push(w.message));
      const reached = new Promise<void>((resolve) => svc.once(until, () => resolve()));
      await svc.start();
      const ok = await Promise.race([reached.then(() => true), new Promise<boolean>((r) => setTimeout(r, READY_TIMEOUT_MS, false))]);
      if (ok) {
        timeline.push(`${name} ${until} at ${at()}${attempt > 1 ? ' (second try)' : ''}`);
        return svc;
      }
      await svc.stop();
      if (attempt >= 2) throw new Error(`${name} never became ${until}: ${JSON.stringify(svc.status())}; warnings: ${warnings.join(' | ')}`);
    }
  }

  function makeService(dataDir: string, onion?: OnionTarget): TorService {
    return new TorService({
      mode: 'launch',
      launch: { dataDir, extraOptions: network!.clientOptions },
      ...(onion ? { onion } : {}),
      bootstrapStallMs: 20_000,
      restart: { initialMs: 500, maxMs: 5_000 },
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsim-tornet-'));
    network = await startTorNetwork({ dir: join(dir, 'net'), timeoutMs: 120_000 });
    timeline.push(`keys at ${(network.timings.keysMs / 1000).toFixed(1)} s, full consensus at ${(network.timings.consensusMs / 1000).toFixed(1)} s`);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await network?.stop();
    await closeServer(echo);
    console.info(`private Tor network timeline: ${timeline.join('; ')}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('A publishes an onion in front of a TCP echo target; B dials it through SOCKS and gets the bytes back', async () => {
    const echoPort = await listenLocal(echo);
    const key = generateOnionKey();
    const [a, b] = await Promise.all([
      client('A', 'published', { key, target: `127.0.0.1:${echoPort}` }),
      client('B', 'ready'),
    ]);
    expect(a.status()).toMatchObject({ onion: `${key.serviceId}.onion` });
    const socks = b.status().socks!;
    expect(socks.host).toBe('127.0.0.1');

    // The descriptor may not be on every HSDir yet: 0xF0 right after publication is normal (tor.md §4.4).
    const backoff = new Backoff({ initialMs: 500, maxMs: 4_000 });
    const deadline = Date.now() + 60_000;
    let sock: Duplex | undefined;
    let f0 = 0;
    while (!sock) {
      // A fresh SOCKS user name per try: a fresh circuit, not one that just failed.
      const dial = socks5Dialer({ ...socks, username: `try-${f0}`, password: 'x' }, { timeoutMs: 90_000 });
      try {
        sock = await dial({ host: `${key.serviceId}.onion`, port: DEFAULT_ONION_VIRTUAL_PORT });
      } catch (err) {
        if (!(err instanceof PeerUnreachableError) || err.socksReply !== 0xf0 || Date.now() > deadline) throw err;
        f0++;
        await new Promise((r) => setTimeout(r, backoff.next()));
      }
    }
    timeline.push(`B connected at ${at()} after ${f0} × 0xF0`);
    const payload = randomBytes(64 * 1024);
    const got: Buffer[] = [];
    let length = 0;
    const back = new Promise<void>((resolve, reject) => {
      sock!.on('data', (d: Buffer) => {
        got.push(d);
        length += d.length;
        if (length >= payload.length) resolve();
      });
      sock!.once('error', reject);
      sock!.once('close', () => reject(new Error(`closed after ${length} bytes`)));
    });
    sock.write(payload);
    await back;
    expect(Buffer.concat(got)).toEqual(payload);
    timeline.push(`round trip of 64 KiB done at ${at()}`);
    sock.destroy();

    // OnionTrafficOnly: B's SOCKS port refuses anything but onions at once.
    const clear = socks5Dialer(socks, { timeoutMs: 30_000 });
    await expect(clear({ host: '127.0.0.1', port: echoPort })).rejects.toBeInstanceOf(PeerUnreachableError);
  }, 240_000);
});
