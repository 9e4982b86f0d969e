// Reconnection backoff: first retry within 2 s, doubling, capped at 5 minutes, jittered, reset on success.
import { describe, expect, it } from 'vitest';
import { Backoff, MAX_BACKOFF_MS } from '../../bridge-protocol/peers/backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap (no jitter at random = 1)', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 1 });
    expect(Array.from({ length: 6 }, () => b.next())).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('jitters each delay within [base/2, base]', () => {
    const low = new Backoff({ initialMs: 1000, random: () => 0 });
    const mid = new Backoff({ initialMs: 1000, random: () => 0.5 });
    expect([low.next(), low.next(), low.next()]).toEqual([500, 1000, 2000]);
    expect([mid.next(), mid.next(), mid.next()]).toEqual([750, 1500, 3000]);
  });

  it('defaults: first retry within 2 s, never more than 5 minutes, even after very many failures', () => {
    const b = new Backoff();
    const first = b.next();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(2000);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.next();
    expect(last).toBeLessThanOrEqual(MAX_BACKOFF_MS);
    expect(last).toBeGreaterThanOrEqual(MAX_BACKOFF_MS / 2);
    expect(Number.isFinite(last)).toBe(true);
  });

  it('reset() starts over from the first delay', () => {
    const b = new Backoff({ initialMs: 100, random: () => 1 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('clamps an out-of-range random source', () => {
    const b = new Backoff({ initialMs: 100, random: () => 7 });
    expect(b.next()).toBe(100);
  });

  it('refuses settings that break the promise (first retry within 2 s, cap at most 5 min)', () => {
    expect(() => new Backoff({ initialMs: 5000 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ maxMs: 10 * 60_000 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 1000, maxMs: 500 })).toThrow(RangeError);
  });
});
