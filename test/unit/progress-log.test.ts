// Long work told as progress (gateway/bridge/progress.ts): a few log lines, not one per piece, and on the terminal of
// `run` the status line's bar instead of lines; anything that is not progress is written as it was.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ProgressLog, progressIn } from '../../gateway/bridge/progress.js';
import { TerminalOutput } from '../../gateway/daemon/terminal.js';
import { createRootLogger } from '../../gateway/xmpp/log.js';

function capture() {
  const lines: string[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) };
}

describe('progress lines', () => {
  it('one per tenth at most while the clock stands, at least a second apart within a tenth, and a last one', () => {
    const { lines, log } = capture();
    let now = 0;
    const p = new ProgressLog(log, 'sending "a.bin" to Bob', 1000, () => now);
    for (let done = 0; done <= 1000; done += 10) p.update(done);
    expect(lines.map((l) => progressIn(l)!.done)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    now = 5_000;
    p.update(1000);
    expect(lines).toHaveLength(12);
    p.end('file delivered to Bob (1000 bytes)');
    expect(progressIn(lines.at(-1)!)).toMatchObject({ task: 'sending "a.bin" to Bob', done: 1000, total: 1000, final: true, msg: 'file delivered to Bob (1000 bytes)' });
    expect(progressIn('{"level":30,"msg":"something else"}')).toBeUndefined();
  });

  it('on the terminal: the bar rewritten in place, then the last line stays; other log lines are printed above', () => {
    let raw = '';
    const t = new TerminalOutput({ write: (s: string) => void (raw += s), columns: 80 });
    const printed: string[] = [];
    const log = createRootLogger({ pretty: false, sink: { write: (l) => void printed.push(l) }, intercept: (l) => t.showProgress(l) });
    const p = new ProgressLog(log, 'receiving "a.bin" from Alice', 200);
    p.update(50);
    log.info('an ordinary line');
    p.update(100);
    const shown = (): string => raw.split('\n').map((line) => line.split('\r\x1b[2K').at(-1)).join('\n');
    expect(shown()).toBe('receiving "a.bin" from Alice [############------------]  50%');
    p.end('file received from Alice (200 bytes)');
    expect(shown()).toBe('file received from Alice (200 bytes)\n');
    expect(printed.map((l) => JSON.parse(l).msg)).toEqual(['an ordinary line']);
  });
});
