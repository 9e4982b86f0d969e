// The status page's log tail: the last few hundred log lines kept in memory (a pino destination fed
// next to stdout), already redacted by pino, each cut to a bounded size.

export interface LogEntry {
  time: number;
  level: string;
  msg: string;
  component?: string;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const MAX_LINE_CHARS = 2_000;

export class LogRing {
  private readonly entries: LogEntry[] = [];
  /** Counts every line ever written, so a reader can ask for what is new since its last look. */
  private written = 0;

  constructor(private readonly capacity = 300) {}

  /** pino's destination interface: one JSON line per call. */
  write(line: string): void {
    let entry: LogEntry;
    try {
      const o = JSON.parse(line) as { time?: number; level?: number; msg?: unknown; component?: unknown };
      entry = {
        time: typeof o.time === 'number' ? o.time : Date.now(),
        level: LEVELS[o.level ?? 30] ?? String(o.level),
        msg: String(o.msg ?? '').slice(0, MAX_LINE_CHARS),
        ...(typeof o.component === 'string' && { component: o.component }),
      };
    } catch {
      entry = { time: Date.now(), level: 'info', msg: line.slice(0, MAX_LINE_CHARS) };
    }
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    this.written++;
  }

  get count(): number {
    return this.written;
  }

  /** The newest `n` lines, oldest first. */
  tail(n = 100): LogEntry[] {
    return this.entries.slice(-n);
  }
}
