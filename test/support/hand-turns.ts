// Event-loop turns run by hand, for a TurnPacer's `schedule` in tests: what a slice does is seen turn by turn.

export interface HandTurns {
  /** Give this as the pacer's `schedule`. */
  schedule: (slice: () => void) => void;
  /** Runs the scheduled turns one by one until none is left; returns how many ran. */
  runTurns: () => number;
  /** The number of the turn running now (0 before the first). */
  turn: () => number;
  /** Turns scheduled and not yet run. */
  scheduled: () => number;
}

export function handTurns(): HandTurns {
  const turns: Array<() => void> = [];
  let turn = 0;
  return {
    schedule: (slice) => void turns.push(slice),
    runTurns: () => {
      let n = 0;
      while (turns.length > 0) {
        turn++;
        n++;
        turns.shift()!();
      }
      return n;
    },
    turn: () => turn,
    scheduled: () => turns.length,
  };
}
