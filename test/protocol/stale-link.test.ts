// Regression: a link that died for the peer but not for us (a Tor circuit gone without closing
// our stream) must give way when the peer redials, or the pair never talks again.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, PeerManager, type Identity } from '../../bridge-protocol/index.js';
import { closeServer, listenLocal } from '../support/net.js';
import { managerPool } from '../support/peer-managers.js';

let a: Identity;
let b: Identity;
let proxy: Server;
const pairs: Array<{ fromA: Socket; toB: Socket }> = [];

beforeAll(async () => {
  const ids = await Promise.all([generateIdentity(), generateIdentity()]);
  // B (the one whose side dies and who redials) has the larger fingerprint, so the plain
  // tie-break ("keep the link dialed by the smaller fingerprint") would keep A's dead link.
  ids.sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1));
  [a, b] = ids as [Identity, Identity];
});
afterAll(async () => {
  await pool.stopAll();
  for (const p of pairs) {
    p.fromA.destroy();
    p.toB.destroy();
  }
  if (proxy) await closeServer(proxy);
});

const pool = managerPool({ handshakeTimeoutMs: 400, dialTimeoutMs: 400, switchTimeoutMs: 500, backoff: { initialMs: 100, maxMs: 400 } });
const manager = (id: Identity): PeerManager => pool.manager(id);

function nextMessage(m: PeerManager, from: string): Promise<string> {
  return new Promise((resolve) => {
    const off = m.on('message', (fp, msg) => {
      if (fp !== from) return;
      off();
      resolve(msg.text);
    });
  });
}

describe('a link dead only on the peer side', () => {
  it('is replaced when the peer redials, and both directions work again', async () => {
    const ma = manager(a);
    const mb = manager(b);
    await Promise.all([ma.start(), mb.start()]);
    const bAddr = mb.addresses()[0]!;
    const aAddr = ma.addresses()[0]!;
    proxy = createServer((fromA) => {
      const toB = connect(bAddr.port, bAddr.host);
      pairs.push({ fromA, toB });
      fromA.on('error', () => {});
      toB.on('error', () => {});
      fromA.pipe(toB);
      toB.pipe(fromA);
    });
    const proxyPort = await listenLocal(proxy);

    // A dials B (through the proxy); B knows A but has no address yet, so it does not dial.
    mb.setPeer(a.fingerprint, undefined);
    ma.setPeer(b.fingerprint, { host: '127.0.0.1', port: proxyPort });
    await expect.poll(() => ma.isOnline(b.fingerprint) && mb.isOnline(a.fingerprint), { timeout: 10_000 }).toBe(true);
    mb.setPeer(a.fingerprint, aAddr); // online: no dial now, but B may redial later

    // Let the link age past any simultaneous dial (dial + handshake = 800 ms here).
    await new Promise((r) => setTimeout(r, 1_200));
    // B's side of the path dies; A's stays open and silent (as over a dead Tor circuit).
    const { fromA, toB } = pairs[0]!;
    fromA.unpipe(toB);
    toB.unpipe(fromA);
    fromA.pause();
    toB.destroy();
    await expect.poll(() => mb.isOnline(a.fingerprint), { timeout: 10_000 }).toBe(false);
    expect(ma.isOnline(b.fingerprint)).toBe(true); // A noticed nothing

    // B redials A directly; A must take the new link instead of keeping the dead one.
    await expect.poll(() => mb.isOnline(a.fingerprint), { timeout: 10_000 }).toBe(true);
    const atA = nextMessage(ma, b.fingerprint);
    await mb.send(a.fingerprint, 'from b after the cut');
    expect(await atA).toBe('from b after the cut');
    const atB = nextMessage(mb, a.fingerprint);
    await ma.send(b.fingerprint, 'from a after the cut');
    expect(await atB).toBe('from a after the cut');
  });
});
