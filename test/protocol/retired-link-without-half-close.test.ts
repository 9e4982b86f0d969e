// Regression (tor e2e flake): both gateways dialed each other over Tor at the same moment and kept A's dial; A's
// first message had just been written on B's dial, which both then retired, and it never reached B. Tor has no
// half-close: the FIN of our "close_notify + FIN, then read until EOF" drain ended the whole stream, dropping what
// the peer still had on its way to us, and A had counted the message as sent once written. These tests retire
// links with messages in flight on transports that behave like Tor: an in-memory pair with a delay where one
// end's FIN closes both ends and drops what is on its way to it, and a TCP relay doing the same.
import { connect, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { acceptLink, dialLink, type Link } from '../../bridge-protocol/link.js';
import { silentLogger, type Logger } from '../../bridge-protocol/logger.js';
import type { PeerManager } from '../../bridge-protocol/peers.js';
import { PeerLinks } from '../../bridge-protocol/peers/peer-links.js';
import { SettleDeadlines } from '../../bridge-protocol/peers/settle-deadlines.js';
import { createTlsContext } from '../../bridge-protocol/tls-context.js';
import { memoryDuplexPair, type MemoryPairOptions } from '../../bridge-protocol/transport/memory.js';
import { closeServer, listenLocal } from '../support/net.js';
import { managerPool } from '../support/peer-managers.js';

const LATENCY_MS = 30;
const TOR_LIKE: MemoryPairOptions = { latencyMs: LATENCY_MS, halfClose: false };

let a: Identity;
let b: Identity;
const made: Link[] = [];

beforeAll(async () => {
  const ids = await Promise.all([generateIdentity(), generateIdentity()]);
  // A has the smaller fingerprint: the tie-break keeps A's dial, as in the flake.
  ids.sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1));
  [a, b] = ids as [Identity, Identity];
});

afterEach(() => {
  for (const l of made.splice(0)) l.destroy();
});

/** `from` dials `to` over a fresh pair: the link as each of them sees it, and the pair's two ends. */
async function link(from: Identity, to: Identity, wire: MemoryPairOptions): Promise<{ atDialer: Link; atAcceptor: Link; ends: Duplex[] }> {
  const [d, acc] = memoryDuplexPair(wire);
  const [atAcceptor, atDialer] = await Promise.all([
    acceptLink(acc, createTlsContext(to)),
    dialLink(d, createTlsContext(from), { expectedFingerprint: to.fingerprint }),
  ]);
  made.push(atAcceptor, atDialer);
  return { atDialer, atAcceptor, ends: [d, acc] };
}

/** One side's links with the other, and every line it delivered. */
function side(self: Identity, peer: Identity): { links: PeerLinks; got: string[] } {
  const got: string[] = [];
  const links = new PeerLinks(
    { self: self.fingerprint, fingerprint: peer.fingerprint, log: silentLogger, switchTimeoutMs: 3_000, settles: new SettleDeadlines({ delayMs: 1_000 }) },
    {
      up: () => {},
      down: () => {},
      message: (m) => got.push(...m.text.split('\n')),
      replacementPending: () => false,
      idle: () => {},
    },
  );
  return { links, got };
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a link retired while messages are on their way, over a transport without half-close (Tor)', () => {
  it('A writes on B\'s dial, then both switch to A\'s dial: every message arrives, once, in order, both ways', async () => {
    const atA = side(a, b);
    const atB = side(b, a);
    const bDial = await link(b, a, TOR_LIKE);
    const aDial = await link(a, b, TOR_LIKE);
    // B's dial came up first on both sides; each writes on it at once.
    atA.links.add(bDial.atAcceptor);
    atB.links.add(bDial.atDialer);
    const fromA = ['a1', 'a2', 'a3'];
    const fromB = ['b1', 'b2'];
    const sent = [...fromA.map((t) => atA.links.send(t)), ...fromB.map((t) => atB.links.send(t))];
    // Then A's dial completes on both sides in the same moment: both retire B's dial with all of that in flight.
    atA.links.add(aDial.atDialer);
    atB.links.add(aDial.atAcceptor);
    // More is written during the switch (it waits for the retired link to end).
    sent.push(atA.links.send('a4'), atB.links.send('b3'));
    await Promise.all(sent);
    await until(() => atB.got.length >= 4 && atA.got.length >= 3, 'delivery').catch((e: Error) => {
      throw new Error(`${e.message}: at B ${JSON.stringify(atB.got)}, at A ${JSON.stringify(atA.got)}`);
    });
    expect(atB.got).toEqual([...fromA, 'a4']);
    expect(atA.got).toEqual([...fromB, 'b3']);
    expect(atA.links.active).toBe(aDial.atDialer);
    expect(atB.links.active).toBe(aDial.atAcceptor);
    // The retired link ended.
    await until(() => atA.links.linkCount === 1 && atB.links.linkCount === 1, 'the retired link to end');
  });

  it('the retired link dies with everything in flight (a circuit gone): what was not acknowledged goes again on the kept link, first', async () => {
    const atA = side(a, b);
    const atB = side(b, a);
    const bDial = await link(b, a, TOR_LIKE);
    const aDial = await link(a, b, TOR_LIKE);
    atA.links.add(bDial.atAcceptor);
    atB.links.add(bDial.atDialer);
    const sent = [atA.links.send('a1'), atA.links.send('a2'), atB.links.send('b1')];
    atA.links.add(aDial.atDialer);
    atB.links.add(aDial.atAcceptor);
    sent.push(atA.links.send('a3'), atB.links.send('b2'));
    // Both ends of B's dial vanish before anything on it arrives: no END, no acknowledgement, nothing delivered.
    for (const end of bDial.ends) end.destroy();
    await Promise.all(sent);
    await until(() => atB.got.length >= 3 && atA.got.length >= 2, 'delivery');
    expect(atB.got).toEqual(['a1', 'a2', 'a3']);
    expect(atA.got).toEqual(['b1', 'b2']);
  });
});

/**
 * A TCP relay that behaves like a Tor stream between two onion-service ends: each chunk arrives `latencyMs`
 * later, and the first FIN (or close) of either side ends the stream for both: that side is closed at once and
 * what was on its way to it is dropped; the other side gets what was sent before the FIN, then is closed.
 */
async function torLikeRelay(target: () => number, latencyMs: number): Promise<{ port: number; server: Server }> {
  const server = createServer((left) => {
    const right = connect(target(), '127.0.0.1');
    left.setNoDelay(true);
    right.setNoDelay(true);
    const ends = [left, right] as const;
    const open = [true, true]; // open[i]: what is written by side i still travels
    for (const [i, from] of ends.entries()) {
      const to = ends[1 - i]!;
      from.on('error', () => {});
      from.on('data', (chunk: Buffer) => {
        if (open[i]) setTimeout(() => !to.destroyed && to.write(chunk), latencyMs);
      });
      const hangUp = (): void => {
        if (!open[i]) return;
        open[i] = false;
        open[1 - i] = false;
        from.destroy();
        // After what `from` sent (same delay, timers keep their order): EOF, then closed.
        setTimeout(() => to.end(() => to.destroy()), latencyMs);
      };
      from.on('end', hangUp);
      from.on('close', hangUp);
    }
  });
  return { port: await listenLocal(server), server };
}

describe('simultaneous dial over a Tor-like relay (no half-close, 15 ms each way)', () => {
  const ROUNDS = 12;
  const pool = managerPool({ backoff: { initialMs: 100 } });
  const relays: Server[] = [];
  afterAll(async () => {
    await pool.stopAll();
    for (const r of relays) await closeServer(r);
  });

  it(`${ROUNDS} rounds: every message arrives, in order; a duplicate only where a link died unacknowledged`, async () => {
    const switches = { replaced: 0, refused: 0 };
    const log = countingLogger(switches);
    const ma = pool.manager(a, { log });
    const mb = pool.manager(b, { log });
    await Promise.all([ma.start(), mb.start()]);
    const toA = await torLikeRelay(() => ma.addresses()[0]!.port, 15);
    const toB = await torLikeRelay(() => mb.addresses()[0]!.port, 15);
    relays.push(toA.server, toB.server);
    const atA: string[] = [];
    const atB: string[] = [];
    ma.on('message', (_fp, m) => atA.push(...m.text.split('\n')));
    mb.on('message', (_fp, m) => atB.push(...m.text.split('\n')));
    ma.setPeer(b.fingerprint, { host: '127.0.0.1', port: toB.port });
    mb.setPeer(a.fingerprint, { host: '127.0.0.1', port: toA.port });
    let duplicates = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all([ma.disconnect(b.fingerprint), mb.disconnect(a.fingerprint)]);
      await until(() => !ma.linkInfo(b.fingerprint) && !mb.linkInfo(a.fingerprint), 'teardown', 10_000);
      atA.length = 0;
      atB.length = 0;
      ma.connect(b.fingerprint);
      mb.connect(a.fingerprint);
      const fromA = Array.from({ length: 12 }, (_, i) => `a${round}-${i}`);
      const fromB = Array.from({ length: 12 }, (_, i) => `b${round}-${i}`);
      const outA = outbox(ma, b.fingerprint);
      const outB = outbox(mb, a.fingerprint);
      for (let i = 0; i < fromA.length; i++) {
        outA.push(fromA[i]!);
        outB.push(fromB[i]!);
        await new Promise((r) => setTimeout(r, 10));
      }
      await until(() => outA.done() && outB.done(), `round ${round}: outboxes to drain`, 15_000);
      await until(() => firstSeen(atB).length >= fromA.length && firstSeen(atA).length >= fromB.length, `round ${round}: delivery`);
      expect(firstSeen(atB), `round ${round}: a → b`).toEqual(fromA);
      expect(firstSeen(atA), `round ${round}: b → a`).toEqual(fromB);
      duplicates += atA.length - fromB.length + atB.length - fromA.length;
      await until(() => ma.linkInfo(b.fingerprint)?.openLinks === 1 && mb.linkInfo(a.fingerprint)?.openLinks === 1, `round ${round}: one link`);
    }
    // The race really happened, and was resolved with messages in flight.
    expect(switches.replaced + switches.refused).toBeGreaterThan(0);
    console.log(`tor-like simultaneous dial: ${ROUNDS} rounds, ${switches.replaced} replaced, ${switches.refused} refused, ${duplicates} duplicates`);
  }, 120_000);
});

/** Counts the managers' switch decisions. */
function countingLogger(counts: { replaced: number; refused: number }): Logger {
  const log: Logger = {
    ...silentLogger,
    debug: (_o, msg) => {
      if (msg === 'new link replaces the current one') counts.replaced++;
      if (msg === 'duplicate link closed, keeping the current one') counts.refused++;
    },
    child: () => log,
  };
  return log;
}

/** Each message once, in the order first seen. */
function firstSeen(got: string[]): string[] {
  return [...new Set(got)];
}

/** The gateway's outbox in miniature: a message leaves it when send() resolved; failures are sent again, in order. */
function outbox(m: PeerManager, to: string): { push(text: string): void; done(): boolean } {
  let pending: string[] = [];
  let pumping = false;
  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length > 0) {
        const batch = pending.slice();
        const results = await Promise.allSettled(batch.map((t) => m.send(to, t)));
        const failed = results.findIndex((r) => r.status === 'rejected');
        pending = pending.slice(failed < 0 ? batch.length : failed);
        if (failed >= 0) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      pumping = false;
    }
  };
  return {
    push(text) {
      pending.push(text);
      void pump();
    },
    done: () => pending.length === 0 && !pumping,
  };
}
