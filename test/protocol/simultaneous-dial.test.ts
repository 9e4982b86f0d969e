// Two gateways dialing each other at the same moment, round after round: exactly one link on both
// sides, the same one, and no message lost, doubled or reordered while the duplicate is retired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import type { Logger } from '../../bridge-protocol/logger.js';
import { PeerManager } from '../../bridge-protocol/peers.js';
import { createTlsContext } from '../../bridge-protocol/tls-context.js';
import { directDialer } from '../../bridge-protocol/transport/direct.js';

const ROUNDS = 30;
const BURST = 10; // sent right after connect()
const TRICKLE = 15; // then one every few ms, while the duplicate is being retired

/** Counts the manager's switch decisions, to show the race really happened. */
function countingLogger(counts: { replaced: number; duplicate: number }): Logger {
  const log: Logger = {
    trace: () => {},
    debug: (_o, msg) => {
      if (msg === 'new link replaces the current one') counts.replaced++;
      if (msg === 'duplicate link closed, keeping the current one') counts.duplicate++;
    },
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => log,
  };
  return log;
}

/** The test's own outbox: a message is dropped only once send() resolved; failures are retried in order. */
class Outbox {
  private pending: string[] = [];
  private pumping = false;
  constructor(
    private readonly m: PeerManager,
    private readonly to: string,
  ) {
    m.on('link-up', () => void this.pump());
  }
  get size(): number {
    return this.pending.length;
  }
  push(...texts: string[]): void {
    this.pending.push(...texts);
    void this.pump();
  }
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.slice();
        const results = await Promise.allSettled(batch.map((t) => this.m.send(this.to, t)));
        const failed = new Set(batch.filter((_, i) => results[i]!.status === 'rejected'));
        // Keep what failed plus whatever was pushed meanwhile, in order.
        this.pending = this.pending.filter((t, i) => i >= batch.length || failed.has(t));
        if (failed.size > 0) await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      this.pumping = false;
    }
  }
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('simultaneous dial between two gateways', () => {
  let idA: Identity;
  let idB: Identity;
  let a: PeerManager;
  let b: PeerManager;
  const counts = { replaced: 0, duplicate: 0 };

  beforeAll(async () => {
    [idA, idB] = await Promise.all([generateIdentity(), generateIdentity()]);
    const opts = (id: Identity) => ({
      tls: createTlsContext(id),
      dialerFor: () => directDialer(),
      listen: [{ host: '127.0.0.1', port: 0 }],
      log: countingLogger(counts),
      backoff: { initialMs: 100 },
    });
    a = new PeerManager(opts(idA));
    b = new PeerManager(opts(idB));
    await Promise.all([a.start(), b.start()]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it(`${ROUNDS} rounds: one link, the same on both sides, every message exactly once and in order`, async () => {
    const fpA = idA.fingerprint;
    const fpB = idB.fingerprint;
    const atA: string[] = [];
    const atB: string[] = [];
    // Lines that arrive together are one message on this protocol (the line codec groups them).
    a.on('message', (fp, m) => fp === fpB && atA.push(...m.text.split('\n')));
    b.on('message', (fp, m) => fp === fpA && atB.push(...m.text.split('\n')));
    const events: string[] = [];
    a.on('link-up', () => events.push('a up'));
    b.on('link-up', () => events.push('b up'));
    a.on('link-down', () => events.push('a down'));
    b.on('link-down', () => events.push('b down'));
    const outA = new Outbox(a, fpB);
    const outB = new Outbox(b, fpA);
    // Known to each other, but the first dial is ours to start (noRedial until connect()).
    a.setPeer(fpB, b.addresses()[0]);
    b.setPeer(fpA, a.addresses()[0]);

    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all([a.disconnect(fpB), b.disconnect(fpA)]);
      await until(() => !a.isOnline(fpB) && !b.isOnline(fpA) && !a.linkInfo(fpB) && !b.linkInfo(fpA), 'teardown');
      atA.length = 0;
      atB.length = 0;
      events.length = 0;

      a.connect(fpB);
      b.connect(fpA);
      const msgs = (from: string) => Array.from({ length: BURST + TRICKLE }, (_, i) => `${from}${round}-${i}`);
      const fromA = msgs('a');
      const fromB = msgs('b');
      outA.push(...fromA.slice(0, BURST));
      outB.push(...fromB.slice(0, BURST));
      for (let i = BURST; i < BURST + TRICKLE; i++) {
        await new Promise((r) => setTimeout(r, 2));
        outA.push(fromA[i]!);
        outB.push(fromB[i]!);
      }

      await until(() => outA.size === 0 && outB.size === 0, `round ${round}: outboxes to drain`);
      await until(() => atA.length >= fromB.length && atB.length >= fromA.length, `round ${round}: delivery`);
      // One link left on each side, and it is the same TCP connection: dialed by one side,
      // accepted by the other.
      await until(() => a.linkInfo(fpB)?.openLinks === 1 && b.linkInfo(fpA)?.openLinks === 1, `round ${round}: one link`);
      const la = a.linkInfo(fpB)!;
      const lb = b.linkInfo(fpA)!;
      expect(la.side === 'client' ? 'server' : 'client', `round ${round}`).toBe(lb.side);
      expect(atB, `round ${round}: a → b`).toEqual(fromA);
      expect(atA, `round ${round}: b → a`).toEqual(fromB);
      // The switch was invisible to the gateway: online once, never offline.
      expect(events.sort(), `round ${round}`).toEqual(['a up', 'b up']);
    }
    // Duplicates really happened (usually in every round) and were resolved.
    expect(counts.replaced + counts.duplicate).toBeGreaterThan(0);
    console.log(`simultaneous dial: ${ROUNDS} rounds, duplicates resolved: ${counts.replaced} replaced, ${counts.duplicate} refused`);
  }, 180_000);
});
