// Kill -9 with nothing lost (issue 16 §2, issue 14): two real gateways, A's user sends to B's user through
// stream management while the harness kills B (then A) with SIGKILL at random points and restarts it at once.
// Every message A acknowledged reaches B's user once; no archive holds one twice; both databases pass
// PRAGMA integrity_check. `npm run crash` runs the long mode (CRASH_LONG=1: 10 000 messages, 20 kills each).
import { afterAll, describe, expect, it } from 'vitest';
import { useBuiltCli } from '../support/cli-program.js';
import { CrashPair, type Victim } from '../support/crash-harness.js';
import { removeTmpDirs } from '../support/identities.js';
import { killAll } from '../support/proc.js';

const CLI = useBuiltCli('crash');
const LONG = process.env.CRASH_LONG === '1';
const MESSAGES = LONG ? 10_000 : 1_000;
const KILLS = LONG ? 20 : 10;

afterAll(async () => {
  await killAll();
  removeTmpDirs();
});

describe('kill -9 between two gateways', () => {
  for (const victim of ['B', 'A'] as Victim[]) {
    it(`${MESSAGES} messages A → B, gateway ${victim} killed ${KILLS} times: 0 lost, 0 duplicated, databases intact`, async () => {
      const pair = new CrashPair(CLI);
      try {
        await pair.start();
        const counts = await pair.run(victim, MESSAGES, KILLS);
        console.log(`crash counts: ${JSON.stringify(counts)}`);
        expect(counts.acknowledged).toBe(MESSAGES);
        expect(counts.lost).toBe(0);
        // B's user is a client without MAM. Its offline box holds every message here (c2s.offline_messages set
        // above the count, see killed-gateway.ts), so none is dropped. What it can still miss is what B had written to its stream and it had not
        // acknowledged when B died (stream management's queue is in memory, as in Prosody): measured and printed
        // above (notShown), not asserted; every such message is in B's archive (lost = 0), so a MAM client has it.
        expect(counts.offlineDropped).toBe(0);
        expect(counts.duplicates).toBe(0);
        expect(counts.archiveDuplicates).toEqual({ a: 0, b: 0 });
        expect(counts.integrity).toEqual({ a: 'ok', b: 'ok' });
      } finally {
        await pair.stop();
      }
    }, LONG ? 1_800_000 : 240_000);
  }
});
