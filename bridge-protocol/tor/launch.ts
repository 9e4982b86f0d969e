// Starting our own tor (Debian's `tor`): command line, control-port file, authentication and ownership (research/tor.md §0.2–3, §2.3; tor(1)).
//
// Every Tor messenger (OnionShare, Ricochet, Briar, Cwtch, Quiet) launches and owns its tor:
// no admin setup, `auto` ports, ExtendedErrors, and tor never outlives us (TAKEOWNERSHIP plus
// __OwningControllerProcess). A test network uses this same code, adding only extraOptions.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../logger.js';
import { ensurePrivateDir } from '../secret-file.js';
import { checkTimeout } from '../transport/types.js';
import { authenticate, type AuthMethod } from './control-auth.js';
import { TorError } from './control-parse.js';
import { TorControl, type TorControlOptions } from './control.js';

export interface LaunchOptions {
  /** tor's DataDirectory (created 0700). Keep it between runs: the cached consensus makes restarts fast. */
  dataDir: string;
  /** Default `tor` (Debian's /usr/sbin/tor on PATH). */
  torPath?: string;
  /** SocksPort flag OnionTrafficOnly (default true: peers are onions; tests or `tor.all` may need exits). */
  onionTrafficOnly?: boolean;
  /** More `--Key value` options after ours, repeatable (e.g. TestingTorNetwork 1, DirAuthority lines). */
  extraOptions?: ReadonlyArray<readonly [string, string]>;
  /** Whose death makes tor exit (default: this process). */
  owningPid?: number;
  /** How long tor may take to write its control port (default 30 s). */
  controlPortTimeoutMs?: number;
  logger?: Logger;
  control?: TorControlOptions;
}

export interface TorExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TorLogLine {
  level: string;
  message: string;
}

const MAX_LOG_LINES = 200;
const MAX_LOG_LINE_CHARS = 2_000;
const KILL_GRACE_MS = 3_000;
const MAX_WARNINGS = 10;

/** Warnings tor prints on every start in our setups (root in containers, test networks): they explain nothing. */
const ROUTINE_WARNINGS = [
  /^You are running Tor as root/,
  /^TestingTorNetwork is set/,
  /^You have used DirAuthority/,
  /^V3AuthVotingInterval is very low/,
  /^Path for \w+ .* is relative/,
  /^Reading config failed--see warnings above/,
];

export function isRoutineTorWarning(message: string): boolean {
  return ROUTINE_WARNINGS.some((re) => re.test(message));
}

/** Our tor child: its output (a bounded tail), its exit, and a kill by PID. */
export class TorProcess {
  readonly pid: number;
  readonly exited: Promise<TorExit>;
  exitInfo: TorExit | undefined;
  /** The last lines tor logged (stdout and stderr), oldest first. */
  readonly logTail: string[] = [];
  /** The last [warn]/[err] lines tor logged, routine ones left out: what failures are told with. */
  readonly warnings: string[] = [];
  private readonly logListeners = new Set<(line: TorLogLine) => void>();

  constructor(child: ChildProcess) {
    if (child.pid === undefined) throw new TorError('spawn', 'tor started without a pid');
    this.pid = child.pid;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8').on('data', (s: string) => {
        const parts = (partial + s).split('\n');
        partial = parts.pop()!.slice(-MAX_LOG_LINE_CHARS);
        for (const p of parts) this.onLine(p.slice(0, MAX_LOG_LINE_CHARS));
      });
    }
  }

  onLog(listener: (line: TorLogLine) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  /** SIGTERM, SIGKILL after a grace period; resolves once tor is gone. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<TorExit> {
    if (this.exitInfo) return this.exitInfo;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), KILL_GRACE_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  signal(sig: NodeJS.Signals): boolean {
    if (this.exitInfo) return false;
    try {
      process.kill(this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** Why tor is gone, in words: the exit plus the last complaint it logged. */
  describeExit(): string {
    const e = this.exitInfo;
    const how = !e ? 'is running' : e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
    const said = this.warnings.slice(-3).join(' | ');
    return `tor (pid ${this.pid}) ${how}${said ? `; it said: ${said}` : ''}`;
  }

  get lastWarning(): string | undefined {
    return this.warnings[this.warnings.length - 1];
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    this.logTail.push(line);
    if (this.logTail.length > MAX_LOG_LINES) this.logTail.shift();
    // "Nov 23 21:42:45.556 [warn] message"
    const m = /\[(\w+)\]\s(.*)$/.exec(line);
    const entry: TorLogLine = m ? { level: m[1]!, message: m[2]! } : { level: 'notice', message: line };
    if ((entry.level === 'warn' || entry.level === 'err') && !isRoutineTorWarning(entry.message)) {
      this.warnings.push(entry.message);
      if (this.warnings.length > MAX_WARNINGS) this.warnings.shift();
    }
    for (const l of this.logListeners) l(entry);
  }
}

export interface LaunchedTor {
  process: TorProcess;
  /** Authenticated, owning (tor exits when it closes). */
  control: TorControl;
  authMethod: AuthMethod;
  dataDir: string;
}

/** The tor command line (exported for tests and for `--verify-config` checks). */
export function torArguments(opts: LaunchOptions): string[] {
  const dd = opts.dataDir;
  const socksFlags = ['ExtendedErrors', ...(opts.onionTrafficOnly === false ? [] : ['OnionTrafficOnly'])];
  const args = [
    // Never /etc/tor/torrc (the system service's): <dd>/torrc is normally absent, so only what we say counts.
    '--ignore-missing-torrc', '-f', join(dd, 'torrc'),
    '--DataDirectory', dd,
    '--SocksPort', `127.0.0.1:auto ${socksFlags.join(' ')}`,
    '--ControlPort', '127.0.0.1:auto',
    '--ControlPortWriteToFile', join(dd, 'control-port'),
    '--CookieAuthentication', '1',
    '--__OwningControllerProcess', String(opts.owningPid ?? process.pid),
    // Offline until our onion is added and the caller says go (and forever in tests without a private network).
    '--DisableNetwork', '1',
    '--AvoidDiskWrites', '1',
    '--Log', 'notice stdout',
    '--__ReloadTorrcOnSIGHUP', '0',
  ];
  for (const [key, value] of opts.extraOptions ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new RangeError(`not a tor option name: ${JSON.stringify(key)}`);
    args.push(`--${key}`, value);
  }
  return args;
}

/**
 * Starts tor, waits for its control port, authenticates (SAFECOOKIE) and takes ownership.
 * On any failure tor is killed and the error names what tor last said.
 */
export async function launchTor(opts: LaunchOptions): Promise<LaunchedTor> {
  const log = (opts.logger ?? silentLogger).child({ tor: 'launch' });
  const timeoutMs = checkTimeout(opts.controlPortTimeoutMs ?? 30_000, 'controlPortTimeoutMs');
  await ensurePrivateDir(opts.dataDir);
  const portFile = join(opts.dataDir, 'control-port');
  await rm(portFile, { force: true }); // a stale file from a previous tor would send us to a dead port

  const child = spawn(opts.torPath ?? 'tor', torArguments(opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new TorError('spawn', `cannot start tor (${opts.torPath ?? 'tor'}): ${err.message}`, { cause: err })));
  });
  const proc = new TorProcess(child);
  log.info({ pid: proc.pid, dataDir: opts.dataDir }, 'tor started');
  try {
    const port = await waitForControlPort(portFile, proc, timeoutMs);
    const control = await TorControl.connect({ host: '127.0.0.1', port }, { ...opts.control, logger: opts.logger ?? silentLogger });
    try {
      const authMethod = await authenticate(control);
      await control.takeOwnership();
      // Now the connection alone decides tor's life; the PID poll (~15 s) is no longer needed (control-spec §3.23).
      await control.resetConf(['__OwningControllerProcess']);
      return { process: proc, control, authMethod, dataDir: opts.dataDir };
    } catch (err) {
      control.destroy();
      throw err;
    }
  } catch (err) {
    await proc.kill();
    if (err instanceof TorError && err.reason === 'exited') throw err;
    throw new TorError((err as TorError).reason ?? 'spawn', `${(err as Error).message} (${proc.describeExit()})`, { cause: err });
  }
}

/** Polls `<dd>/control-port` for `PORT=127.0.0.1:N` (tor writes it a fraction of a second after start). */
async function waitForControlPort(file: string, proc: TorProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const m = /^PORT=127\.0\.0\.1:(\d+)\s*$/m.exec(text);
    if (m) return Number(m[1]);
    if (proc.exitInfo) throw new TorError('exited', `tor exited before opening its control port: ${proc.describeExit()}`);
    if (Date.now() > deadline) throw new TorError('control-port', `tor did not write ${file} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
