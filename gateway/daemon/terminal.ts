// The terminal a person started the gateway in. It gets the first-start text and one status line at
// the bottom, rewritten in place (Tor's bootstrap as a bar), which pretty log lines written to the same
// terminal never tear: they are written above it. Not a terminal, nothing here is used: the log says it all.
import { percent, progressIn } from '../bridge/progress.js';

const CLEAR_LINE = '\r\x1b[2K';

export interface TerminalStream {
  write(text: string): unknown;
  readonly columns?: number;
}

export class TerminalOutput {
  private status = '';

  constructor(private readonly out: TerminalStream) {}

  /** Text above the status line. */
  print(text: string): void {
    this.around(() => this.out.write(text));
  }

  /** A write to another stream that shows on the same terminal (the pretty log on standard error). */
  around(write: () => void): void {
    if (!this.status) return write();
    this.out.write(CLEAR_LINE);
    write();
    this.out.write(this.status);
  }

  /** Replaces the status line (cut to the terminal's width). */
  setStatus(line: string): void {
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    const next = line.length > width ? `${line.slice(0, width - 1)}…` : line;
    if (next === this.status) return;
    this.out.write(`${this.status ? CLEAR_LINE : ''}${next}`);
    this.status = next;
  }

  /**
   * A log line that carries progress (progress.ts) becomes the status line, `task [####----] 40%`, and its last
   * one a line that stays; returns false for any other line (the caller writes it).
   */
  showProgress(line: string): boolean {
    const p = progressIn(line);
    if (!p) return false;
    if (p.final) this.finish(p.msg);
    else this.setStatus(`${p.task} ${progressBar(percent(p.done, p.total))}`);
    return true;
  }

  /** Ends the status line with a last line that stays. */
  finish(line: string): void {
    if (this.status) this.out.write(CLEAR_LINE);
    this.status = '';
    this.out.write(`${line}\n`);
  }
}

/** `[#########---------------]  37%` */
export function progressBar(percent: number, width = 24): string {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  const done = Math.round((p / 100) * width);
  return `[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${String(p).padStart(3)}%`;
}
