// How peers go offline when many links end at once: each peer's down comes exactly once, in order with its up,
// never in the turn its link ended and at most a budget of them per turn (the pacer); peers waiting for a
// replacement link share one timer, a peer whose link comes back in time is never reported down, and closing
// leaves no timer behind.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../../bridge-protocol/events.js';
import type { LinkCloseInfo, LinkCloseReason, LinkEvents, LinkProtocol, LinkSide } from '../../bridge-protocol/link.js';
import { silentLogger } from '../../bridge-protocol/logger.js';
import { PeerLinks } from '../../bridge-protocol/peers/peer-links.js';
import { SettleDeadlines } from '../../bridge-protocol/peers/settle-deadlines.js';
import { TurnPacer } from '../../bridge-protocol/turn-pacer.js';
import { handTurns } from '../support/hand-turns.js';

const SELF = 'a'.repeat(64);
const SETTLE_MS = 5_000;

/** Just what PeerLinks uses of a link; end() is the peer closing it. */
class FakeLink extends TypedEmitter<LinkEvents> {
  readonly establishedAt = Date.now();
  isOpen = true;
  readonly sent: string[] = [];
  private resolveClosed!: (info: LinkCloseInfo) => void;
  readonly closed = new Promise<LinkCloseInfo>((r) => (this.resolveClosed = r));

  constructor(
    readonly fingerprint: string,
    readonly side: LinkSide = 'server',
    readonly protocol: LinkProtocol = 'gateway/3',
  ) {
    super();
  }

  get gatewayPeer(): boolean {
    return this.protocol !== 'plain';
  }

  start(): void {}
  beforeAck(): void {}
  takeUnfinished(): [] {
    return [];
  }
  sendRecord(record: { type: string; text?: string }): Promise<boolean> {
    this.sent.push(record.text ?? record.type);
    return Promise.resolve(true);
  }
  close(reason: LinkCloseReason = 'local'): Promise<LinkCloseInfo> {
    this.end(reason);
    return this.closed;
  }
  destroy(): void {
    this.end('local');
  }
  end(reason: LinkCloseReason = 'remote'): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    const info = { reason };
    this.emit('close', info);
    this.resolveClosed(info);
  }
}

/** n peers on one hand-driven pacer (each down "costs" 0.5 ms of a 2 ms budget) and one settle timer. */
function world(n: number, opts: { replacementPending?: () => boolean } = {}) {
  let clock = 0;
  const turns = handTurns();
  const pacer = new TurnPacer({ budgetMs: 2, now: () => clock, schedule: turns.schedule });
  const settles = new SettleDeadlines({ delayMs: SETTLE_MS, now: () => Date.now() });
  const events: Array<{ peer: number; event: 'up' | 'down'; reason?: string; turn: number }> = [];
  const fp = (i: number) => i.toString(16).padStart(64, '0');
  const peers = Array.from({ length: n }, (_, i) =>
    new PeerLinks(
      { self: SELF, fingerprint: fp(i), log: silentLogger, switchTimeoutMs: 5_000, settles, pacer },
      {
        up: () => events.push({ peer: i, event: 'up', turn: turns.turn() }),
        down: (info) => {
          clock += 0.5;
          events.push({ peer: i, event: 'down', reason: info.reason, turn: turns.turn() });
        },
        message: () => {},
        replacementPending: opts.replacementPending ?? (() => false),
        idle: () => {},
      },
    ),
  );
  const link = (i: number) => {
    const l = new FakeLink(fp(i));
    peers[i]!.add(l as never);
    return l;
  };
  const of = (i: number) => events.filter((e) => e.peer === i).map((e) => e.event + (e.reason ? `:${e.reason}` : ''));
  const downs = () => events.filter((e) => e.event === 'down');
  return { peers, settles, events, link, runTurns: turns.runTurns, of, downs };
}

describe('PeerLinks: going offline when many links end at once', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('1 000 links ending in one turn: no down in that turn, then every peer down exactly once, a few per turn, in order', () => {
    const w = world(1000);
    const links = w.peers.map((_, i) => w.link(i));
    expect(w.events).toHaveLength(1000);
    for (const l of links) l.end();
    // Still online in the turn of the drop: the downs wait for the pacer.
    expect(w.downs()).toEqual([]);
    expect(w.peers.every((p) => p.online)).toBe(true);
    // No send waits for a link that is gone.
    expect(w.peers.every((p) => !p.hasLink)).toBe(true);
    w.runTurns();
    const downs = w.downs();
    expect(downs.map((d) => d.peer)).toEqual(w.peers.map((_, i) => i));
    expect(new Set(downs.map((d) => d.reason))).toEqual(new Set(['remote']));
    // 0.5 ms each against a 2 ms budget: four per turn.
    const perTurn = new Map<number, number>();
    for (const d of downs) perTurn.set(d.turn, (perTurn.get(d.turn) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBe(4);
    expect(perTurn.size).toBe(250);
    expect(w.peers.every((p) => !p.online)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a peer whose link comes back before its down had its turn: down, then up, each once', () => {
    const w = world(3);
    const first = w.peers.map((_, i) => w.link(i));
    for (const l of first) l.end();
    // Peer 1 is back before the pacer ran: its down goes first, at once.
    w.link(1);
    expect(w.of(1)).toEqual(['up', 'down:remote', 'up']);
    expect(w.peers[1]!.online).toBe(true);
    w.runTurns();
    expect(w.of(0)).toEqual(['up', 'down:remote']);
    expect(w.of(1)).toEqual(['up', 'down:remote', 'up']);
    expect(w.of(2)).toEqual(['up', 'down:remote']);
    expect(w.peers[1]!.online).toBe(true);
  });

  it('up and down alternate over repeated drops, one each per link', () => {
    const w = world(1);
    for (let round = 0; round < 5; round++) {
      const l = w.link(0);
      l.end();
      if (round % 2 === 0) w.runTurns();
    }
    w.runTurns();
    expect(w.of(0)).toEqual(Array.from({ length: 5 }, () => ['up', 'down:remote']).flat());
  });

  it('closeAll() while a down waits for its turn: offline now, with the reason of the link that ended, once', async () => {
    const w = world(1);
    w.link(0).end();
    await w.peers[0]!.closeAll();
    expect(w.of(0)).toEqual(['up', 'down:remote']);
    expect(w.peers[0]!.online).toBe(false);
    w.runTurns();
    expect(w.of(0)).toEqual(['up', 'down:remote']);
  });

  describe('waiting for a replacement link', () => {
    it('1 000 peers waiting share one timer; at the deadline each goes down once, through the pacer', () => {
      const w = world(1000, { replacementPending: () => true });
      const links = w.peers.map((_, i) => w.link(i));
      const before = vi.getTimerCount();
      for (const l of links) l.end();
      expect(vi.getTimerCount() - before).toBe(1);
      expect(w.peers.every((p) => p.online && p.hasLink)).toBe(true);
      w.runTurns();
      vi.advanceTimersByTime(SETTLE_MS - 1);
      w.runTurns();
      expect(w.downs()).toEqual([]);
      vi.advanceTimersByTime(1);
      // The timer only queues the downs: none in its own turn.
      expect(w.downs()).toEqual([]);
      expect(w.runTurns()).toBeGreaterThan(1);
      expect(w.downs().map((d) => d.peer)).toEqual(w.peers.map((_, i) => i));
      expect(vi.getTimerCount()).toBe(0);
    });

    it('a peer whose link comes back before its settle time is never reported down, and its sends go at once', async () => {
      const w = world(3, { replacementPending: () => true });
      const links = w.peers.map((_, i) => w.link(i));
      for (const l of links) l.end();
      vi.advanceTimersByTime(SETTLE_MS / 2);
      const back = w.link(1);
      // Not held for the rest of the wait: the link is the peer's now.
      await expect(w.peers[1]!.send('hello again')).resolves.toBeUndefined();
      expect(back.sent).toEqual(['hello again']);
      vi.advanceTimersByTime(SETTLE_MS / 2);
      w.runTurns();
      expect(w.of(0)).toEqual(['up', 'down:remote']);
      expect(w.of(1)).toEqual(['up']);
      expect(w.of(2)).toEqual(['up', 'down:remote']);
      expect(w.peers[1]!.online).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('waits that start later expire later, each settleMs after its own start, one timer at a time', () => {
      const w = world(2, { replacementPending: () => true });
      const [a, b] = w.peers.map((_, i) => w.link(i));
      a!.end();
      vi.advanceTimersByTime(2_000);
      b!.end();
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(SETTLE_MS - 2_000);
      w.runTurns();
      expect(w.downs().map((d) => d.peer)).toEqual([0]);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(2_000);
      w.runTurns();
      expect(w.downs().map((d) => d.peer)).toEqual([0, 1]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('closing every peer while they wait leaves no timer, and each goes down once, now', async () => {
      const w = world(10, { replacementPending: () => true });
      const links = w.peers.map((_, i) => w.link(i));
      for (const l of links) l.end();
      expect(vi.getTimerCount()).toBe(1);
      await Promise.all(w.peers.map((p) => p.closeAll()));
      expect(vi.getTimerCount()).toBe(0);
      expect(w.downs().map((d) => `${d.peer}:${d.reason}`)).toEqual(w.peers.map((_, i) => `${i}:local`));
      vi.advanceTimersByTime(SETTLE_MS * 2);
      w.runTurns();
      expect(w.downs()).toHaveLength(10);
    });

    it('clear() (the manager stops) ends every wait without a down and clears the timer', () => {
      const w = world(10, { replacementPending: () => true });
      for (const l of w.peers.map((_, i) => w.link(i))) l.end();
      w.settles.clear();
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(SETTLE_MS * 2);
      w.runTurns();
      expect(w.downs()).toEqual([]);
    });
  });
});
