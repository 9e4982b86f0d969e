// The terminal of `run`: Tor's bootstrap as a bar on the last line, rewritten in place, with log lines
// written above it (never through it), and a last line that stays.
import { describe, expect, it } from 'vitest';
import { progressBar, TerminalOutput } from '../../gateway/daemon/terminal.js';
import { torProgressBar } from '../../gateway/daemon/welcome.js';

function screen(columns = 80): { out: { write(s: string): void; columns: number }; text(): string } {
  let raw = '';
  return {
    out: { write: (s: string) => void (raw += s), columns },
    // What a terminal shows: "\r\x1b[2K" erases the current line.
    text: () => raw.split('\n').map((line) => line.split('\r\x1b[2K').at(-1)).join('\n'),
  };
}

describe('terminal output', () => {
  it('draws a bar from 0 to 100 %, clamped', () => {
    expect(progressBar(0, 10)).toBe('[----------]   0%');
    expect(progressBar(45, 10)).toBe('[#####-----]  45%');
    expect(progressBar(100, 10)).toBe('[##########] 100%');
    expect(progressBar(140, 10)).toBe('[##########] 100%');
  });

  it('rewrites the status line in place and prints log lines above it', () => {
    const s = screen();
    const t = new TerminalOutput(s.out);
    t.setStatus('Tor: [--] 10%');
    t.around(() => s.out.write('INFO: a log line\n'));
    t.setStatus('Tor: [#-] 50%');
    expect(s.text()).toBe('INFO: a log line\nTor: [#-] 50%');
    t.finish('Tor: ready');
    t.print('after\n');
    expect(s.text()).toBe('INFO: a log line\nTor: ready\nafter\n');
  });

  it('cuts a status line to the terminal width', () => {
    const s = screen(30);
    new TerminalOutput(s.out).setStatus('x'.repeat(100));
    expect(s.text()).toBe(`${'x'.repeat(28)}…`);
  });

  it("shows tor's bootstrap and its warning", () => {
    const line = torProgressBar({ mode: 'launch', state: 'bootstrapping', bootstrap: { progress: 45, summary: 'Loading relay descriptors', warning: 'no route' } } as never);
    expect(line).toBe('Tor: [###########-------------]  45% Loading relay descriptors (tor says: no route)');
  });
});
