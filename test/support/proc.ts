// Real programs under test: spawn, watch their output, talk on stdin, and always stop them (by PID).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Stream } from 'node:stream';

export interface SpawnOptions {
  cwd?: string;
  /** Added to (and overriding) the test process's environment. */
  env?: NodeJS.ProcessEnv;
  /** 'pipe' (default) to write() to the program; 'ignore' gives it /dev/null. */
  stdin?: 'pipe' | 'ignore';
  /**
   * Start the program in its own process group and signal the whole group: for wrappers
   * (runuser, sh -c) whose real work happens in a child. Default: signal the PID only.
   */
  group?: boolean;
  /** Characters of each stream kept (the tail). Default 1 MiB. */
  maxOutputChars?: number;
  /** Standard error elsewhere than a pipe of ours (e.g. a socket, as systemd gives a unit the journal's). */
  stderr?: Stream | number;
}

export type StreamName = 'stdout' | 'stderr' | 'both';

export interface WaitOptions {
  /** Which output to look at. Default 'both' (programs disagree on where they print what). */
  stream?: StreamName;
  /** Only look at output after this mark (from mark()), e.g. the answer to what was just written. */
  since?: Mark;
}

/** A position in a program's output, so a later waitFor() ignores what came before. */
export interface Mark {
  stdout: number;
  stderr: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A predicate gets the watched text; a truthy result ends the wait (a string is returned as is). */
export type OutputMatcher = RegExp | ((text: string) => boolean | string | undefined | null);

/** A tail of accumulated text plus how much came before it, so marks survive trimming. */
class Tail {
  text = '';
  dropped = 0;
  constructor(private readonly max: number) {}
  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.max) {
      const cut = this.text.length - this.max;
      this.text = this.text.slice(cut);
      this.dropped += cut;
    }
  }
  get total(): number {
    return this.dropped + this.text.length;
  }
  since(pos: number): string {
    return this.text.slice(Math.max(0, pos - this.dropped));
  }
}

const KILL_GRACE_MS = 2_000;

// One registry per process, not per module instance: vitest re-evaluates this module for each
// test file in a reused worker, and each evaluation must not add another 'exit' listener.
const REGISTRY = Symbol.for('tlsim-gateway.test.procs');
type Registry = { live: Set<Proc> };
const registry: Registry = ((globalThis as Record<symbol, Registry | undefined>)[REGISTRY] ??= (() => {
  const r: Registry = { live: new Set() };
  // Last resort when a test run dies without its afterAll: never leave a program behind.
  process.once('exit', () => {
    for (const p of r.live) p.signal('SIGKILL');
  });
  return r;
})());
const live = registry.live;

export class Proc {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  /** Set once the program has exited. */
  exitInfo: ExitInfo | undefined;
  private readonly out: Tail;
  private readonly err: Tail;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    private readonly child: ChildProcess,
    private readonly group: boolean,
    maxChars: number,
  ) {
    if (child.pid === undefined) throw new Error(`spawn ${cmd} gave no pid`);
    this.pid = child.pid;
    this.out = new Tail(maxChars);
    this.err = new Tail(maxChars);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => this.onOutput(this.out, s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => this.onOutput(this.err, s));
    // EPIPE when the program exits while we write: the exit is what the test should see.
    child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      // Settle on 'close', when all output has been read; but a grandchild that inherited
      // stdout may hold the pipes open forever, so 'exit' plus a short grace also settles.
      let graceTimer: NodeJS.Timeout | undefined;
      const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitInfo) return;
        clearTimeout(graceTimer);
        this.exitInfo = { code, signal };
        live.delete(this);
        this.notify();
        resolve(this.exitInfo);
      };
      child.once('close', settle);
      child.once('exit', (code, signal) => {
        graceTimer = setTimeout(() => settle(code, signal), 500);
        graceTimer.unref();
      });
    });
  }

  get name(): string {
    return [this.cmd, ...this.args].join(' ');
  }

  get stdout(): string {
    return this.out.text;
  }

  get stderr(): string {
    return this.err.text;
  }

  mark(): Mark {
    return { stdout: this.out.total, stderr: this.err.total };
  }

  /** Output after a mark (or all kept output). */
  output(stream: StreamName = 'both', since?: Mark): string {
    const o = this.out.since(since?.stdout ?? 0);
    const e = this.err.since(since?.stderr ?? 0);
    return stream === 'stdout' ? o : stream === 'stderr' ? e : `${o}\n${e}`;
  }

  /**
   * Resolves with the first match (regexp: the matched text; predicate: its string result or
   * the whole text). Rejects on timeout or when the program exits first, with the output tails.
   */
  waitFor(matcher: OutputMatcher, timeoutMs: number, opts: WaitOptions = {}): Promise<string> {
    const stream = opts.stream ?? 'both';
    // exec() on a /g or /y regexp moves lastIndex between calls: use a stateless copy.
    if (matcher instanceof RegExp && (matcher.global || matcher.sticky)) {
      matcher = new RegExp(matcher.source, matcher.flags.replace(/[gy]/g, ''));
    }
    const check = (): string | undefined => {
      const text = this.output(stream, opts.since);
      if (matcher instanceof RegExp) {
        // One regexp for both streams: test each so ^/$ and positions stay meaningful.
        const texts = stream === 'both' ? [this.output('stdout', opts.since), this.output('stderr', opts.since)] : [text];
        for (const t of texts) {
          const m = matcher.exec(t);
          if (m) return m[0];
        }
        return undefined;
      }
      const r = matcher(text);
      return r ? (typeof r === 'string' ? r : text) : undefined;
    };
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(poll);
      };
      const poll = (): void => {
        const found = check();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.exitInfo) {
          done();
          reject(new Error(`${this.describe()} exited (${fmtExit(this.exitInfo)}) before printing ${String(matcher)}${this.tails()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(matcher)} from ${this.describe()}${this.tails()}`));
      }, timeoutMs);
      this.waiters.add(poll);
      poll();
    });
  }

  /** Writes to the program's stdin; resolves when the pipe took it. */
  write(text: string | Uint8Array): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin) return Promise.reject(new Error(`${this.describe()} was started with stdin 'ignore'`));
    return new Promise((resolve, reject) =>
      stdin.write(text, (err) => (err ? reject(new Error(`write to ${this.describe()} failed: ${err.message}`)) : resolve())),
    );
  }

  /** End of input, as Ctrl-D would give it. */
  closeStdin(): void {
    this.child.stdin?.end();
  }

  /** Sends a signal by PID (or to its group); false when it is already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (this.exitInfo) return false;
    try {
      process.kill(this.group ? -this.pid : this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after 2 s; resolves once the program is gone. */
  async kill(): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), KILL_GRACE_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last lines of both streams, for error messages. */
  tails(chars = 2_000): string {
    const cut = (s: string): string => (s.length > chars ? '…' + s.slice(-chars) : s);
    return `\n--- stdout of ${this.cmd} (tail) ---\n${cut(this.stdout)}\n--- stderr of ${this.cmd} (tail) ---\n${cut(this.stderr)}\n---`;
  }

  private describe(): string {
    return `${this.cmd} (pid ${this.pid})`;
  }

  private onOutput(tail: Tail, chunk: string): void {
    tail.append(chunk);
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

function fmtExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

/**
 * Starts a program (no shell). Spawn failures such as a missing binary reject, naming the
 * program, instead of surfacing later as an unhandled 'error' event.
 */
export async function spawnProc(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): Promise<Proc> {
  const group = opts.group ?? false;
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: [opts.stdin ?? 'pipe', 'pipe', opts.stderr ?? 'pipe'],
    detached: group,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start ${cmd}: ${err.message}`, { cause: err })));
  });
  const proc = new Proc(cmd, args, child, group, opts.maxOutputChars ?? 1024 * 1024);
  live.add(proc);
  return proc;
}

/** Programs started and not yet exited. */
export function liveProcs(): Proc[] {
  return [...live];
}

/** Stops every program still running (for afterAll; safe to call more than once). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}

/** Is a process with this PID still running (signal 0 probes without killing)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` every 100 ms until it holds, or fails after `ms`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
