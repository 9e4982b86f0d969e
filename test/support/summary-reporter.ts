// Prints one plain closing line, "N passed, N failed[, N skipped][, N suites failed to set up]", after
// vitest's own summary, so any reader of the output (CI included) sees how many tests ran without parsing
// vitest's format. A suite whose setup (beforeAll) failed skips its tests: it is counted as a failure too.
import type { Reporter } from 'vitest/reporters';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

export default class SummaryReporter implements Reporter {
  onFinished(files: readonly Task[] = []): void {
    const count = { passed: 0, failed: 0, skipped: 0, suites: 0 };
    const walk = (t: Task): void => {
      if (t.type === 'suite' && t.result?.state === 'fail' && !t.tasks?.some((c) => c.result?.state === 'fail')) count.suites++;
      if (t.type === 'test') {
        const state = t.result?.state;
        if (state === 'pass') count.passed++;
        else if (state === 'fail') count.failed++;
        else count.skipped++;
      }
      t.tasks?.forEach(walk);
    };
    files.forEach(walk);
    const skipped = count.skipped > 0 ? `, ${count.skipped} skipped` : '';
    const suites = count.suites > 0 ? `, ${count.suites} suites failed to set up` : '';
    process.stdout.write(`\n${count.passed} passed, ${count.failed} failed${skipped}${suites}\n`);
  }
}
