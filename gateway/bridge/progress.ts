// Progress of long work (a file crossing a link, a FOAF crawl) as log lines that carry a `progress` field: at most
// one a second or per tenth of the work, and one at the end. On the terminal of `run` they become its status line,
// a bar rewritten in place (terminal.ts); anywhere else (a pipe, the journal) they are plain log lines.
import type { Logger } from 'pino';

export interface ProgressFields {
  task: string;
  done: number;
  total: number;
  /** The last line of this task. */
  final?: boolean;
}

const MIN_INTERVAL_MS = 1_000;

export class ProgressLog {
  private lastAt = 0;
  private lastTenth = -1;

  constructor(
    private readonly log: Logger,
    private readonly task: string,
    private readonly total: number,
    private readonly now: () => number = Date.now,
  ) {}

  update(done: number): void {
    const tenth = this.total > 0 ? Math.floor((done / this.total) * 10) : 10;
    const t = this.now();
    if (tenth === this.lastTenth && t - this.lastAt < MIN_INTERVAL_MS) return;
    this.lastTenth = tenth;
    this.lastAt = t;
    this.log.info({ progress: { task: this.task, done, total: this.total } satisfies ProgressFields }, `${this.task}: ${percent(done, this.total)}%`);
  }

  end(msg: string): void {
    this.log.info({ progress: { task: this.task, done: this.total, total: this.total, final: true } satisfies ProgressFields }, msg);
  }
}

export function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 100;
}

/** The progress a JSON log line carries, with its message; undefined for any other line. */
export function progressIn(line: string): (ProgressFields & { msg: string }) | undefined {
  if (!line.includes('"progress":{')) return undefined;
  try {
    const o = JSON.parse(line) as { progress?: ProgressFields; msg?: string };
    const p = o.progress;
    if (!p || typeof p.task !== 'string' || typeof p.done !== 'number' || typeof p.total !== 'number') return undefined;
    return { ...p, msg: String(o.msg ?? p.task) };
  } catch {
    return undefined;
  }
}
