// The turn pacer: queued jobs run in order, never in the turn that queued them, at most one budget of them per
// turn (the first always runs), a throwing job does not stop the others, and nothing is left queued or scheduled.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TURN_BUDGET_MS, TurnPacer, teardownPacer } from '../../bridge-protocol/turn-pacer.js';
import { handTurns } from '../support/hand-turns.js';

/** A pacer on a hand-driven clock and hand-run turns: each job "costs" `costMs` of the clock. */
function driven(budgetMs = 2, costMs = 0.5) {
  let clock = 0;
  const turns = handTurns();
  const errors: unknown[] = [];
  const pacer = new TurnPacer({ budgetMs, now: () => clock, schedule: turns.schedule, onError: (e) => errors.push(e) });
  const ran: Array<{ job: number; turn: number }> = [];
  const job = (n: number, extra?: () => void) => () => {
    clock += costMs;
    ran.push({ job: n, turn: turns.turn() });
    extra?.();
  };
  return { pacer, job, ran, errors, runTurns: turns.runTurns, scheduled: turns.scheduled };
}

describe('TurnPacer', () => {
  it('runs nothing in the turn that queued the jobs, then at most the budget of them per turn, in order', () => {
    const d = driven(2, 0.5);
    for (let i = 0; i < 10; i++) d.pacer.run(d.job(i));
    expect(d.ran).toEqual([]);
    expect(d.pacer.pending).toBe(10);
    const turns = d.runTurns();
    // 0.5 ms each against 2 ms: four per turn, the last turn has two.
    expect(turns).toBe(3);
    expect(d.ran.map((r) => r.job)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(d.ran.map((r) => r.turn)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    expect(d.pacer.pending).toBe(0);
    expect(d.scheduled()).toBe(0);
  });

  it('always runs the first job of a turn, even one longer than the budget', () => {
    const d = driven(2, 5);
    for (let i = 0; i < 3; i++) d.pacer.run(d.job(i));
    expect(d.runTurns()).toBe(3);
    expect(d.ran.map((r) => r.turn)).toEqual([1, 2, 3]);
  });

  it('a job queued by a job runs in a later turn, after the jobs queued before it', () => {
    const d = driven(100, 0.1);
    d.pacer.run(d.job(0, () => d.pacer.run(d.job(9))));
    d.pacer.run(d.job(1));
    d.runTurns();
    expect(d.ran).toEqual([
      { job: 0, turn: 1 },
      { job: 1, turn: 1 },
      { job: 9, turn: 2 },
    ]);
  });

  it('a job that throws is reported, and the jobs after it still run', () => {
    const d = driven();
    const boom = new Error('boom');
    d.pacer.run(d.job(0));
    d.pacer.run(() => {
      throw boom;
    });
    d.pacer.run(d.job(2));
    d.runTurns();
    expect(d.ran.map((r) => r.job)).toEqual([0, 2]);
    expect(d.errors).toEqual([boom]);
    expect(d.pacer.pending).toBe(0);
  });

  it('schedules one turn at a time, and none once the queue is empty', () => {
    const d = driven(2, 0.5);
    for (let i = 0; i < 6; i++) d.pacer.run(d.job(i));
    expect(d.scheduled()).toBe(1);
    d.runTurns();
    expect(d.scheduled()).toBe(0);
    d.pacer.run(d.job(6));
    expect(d.scheduled()).toBe(1);
    d.runTurns();
    expect(d.ran).toHaveLength(7);
    expect(d.scheduled()).toBe(0);
  });

  it('on the real loop: whenIdle resolves once every job ran, spread over turns by the budget', async () => {
    const pacer = new TurnPacer({ budgetMs: 1 });
    const turnsSeen = new Set<number>();
    let turn = 0;
    // Counts loop turns alongside the pacer's slices.
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const done: number[] = [];
    for (let i = 0; i < 20; i++) {
      pacer.run(() => {
        const until = performance.now() + 0.4;
        while (performance.now() < until);
        done.push(i);
        turnsSeen.add(turn);
      });
    }
    await pacer.whenIdle();
    ticking = false;
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // 20 jobs of 0.4 ms at 1 ms a turn: never all in one turn.
    expect(turnsSeen.size).toBeGreaterThan(1);
    expect(pacer.pending).toBe(0);
    await expect(pacer.whenIdle()).resolves.toBeUndefined();
  });

  it('the process has one pacer, with the default budget', () => {
    expect(teardownPacer()).toBe(teardownPacer());
    expect(DEFAULT_TURN_BUDGET_MS).toBe(2);
  });
});
