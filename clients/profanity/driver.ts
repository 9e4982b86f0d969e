// Drives real Profanity (a curses client) in a detached tmux session of a tmux server of its own: keys in
// with send-keys, the screen out with capture-pane. Every wait has a timeout and fails with the screen.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from '../../test/support/identities.js';

const run = promisify(execFile);
const TMUX_TIMEOUT_MS = 10_000;

export interface ProfanityOptions {
  /** HOME, XDG_DATA_HOME, XDG_CONFIG_HOME: where Profanity reads its accounts and writes its files. */
  env: Record<string, string>;
  /** Connect this account at start (`profanity -a NAME`). */
  account?: string;
  /** Columns and lines of the terminal; wide by default so that JIDs of 80 characters fit on a line. */
  width?: number;
  height?: number;
}

export class ProfanityTui {
  private stopped = false;

  private constructor(
    /** The tmux server's own socket: nothing else is on it, and kill-server stops only it. */
    private readonly socket: string,
    readonly serverPid: number,
    readonly profanityPid: number,
    /** Profanity's debug log (-l DEBUG), for failures. */
    readonly logFile: string,
  ) {}

  static async start(opts: ProfanityOptions): Promise<ProfanityTui> {
    const socket = join(tmpDir('tmux-profanity'), 'tmux.sock');
    const env = Object.entries({ TERM: 'xterm-256color', LANG: 'C.UTF-8', ...opts.env }).map(([k, v]) => `${k}=${v}`);
    const args = ['-l', 'DEBUG', ...(opts.account ? ['-a', opts.account] : [])];
    // -f /dev/null: not the developer's ~/.tmux.conf. env: the program's environment, whatever the server's.
    await run('tmux', ['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'prof', '-x', String(opts.width ?? 220), '-y', String(opts.height ?? 50), 'env', ...env, 'profanity', ...args], {
      timeout: TMUX_TIMEOUT_MS,
    });
    const { stdout } = await run('tmux', ['-S', socket, 'display-message', '-p', '-t', 'prof', '#{pid} #{pane_pid}'], { timeout: TMUX_TIMEOUT_MS });
    const [serverPid, panePid] = stdout.trim().split(' ').map(Number);
    const dataHome = opts.env.XDG_DATA_HOME ?? join(opts.env.HOME ?? '', '.local', 'share');
    return new ProfanityTui(socket, serverPid!, panePid!, join(dataHome, 'profanity', 'logs', 'profanity.log'));
  }

  private tmux(...args: string[]): Promise<{ stdout: string }> {
    return run('tmux', ['-S', this.socket, ...args], { timeout: TMUX_TIMEOUT_MS });
  }

  /** Types a line (a command or a message) into the input line and presses Enter. */
  async type(line: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'prof', '-l', line);
    await this.tmux('send-keys', '-t', 'prof', 'Enter');
  }

  /** What the terminal shows now, line by line (trailing blanks cut). */
  async screen(): Promise<string> {
    const { stdout } = await this.tmux('capture-pane', '-p', '-t', 'prof');
    return stdout
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n');
  }

  /**
   * Polls the screen until `re` matches it; returns the match. `within` narrows the screen first (e.g. the
   * part below a line seen before). Fails after timeoutMs with the screen in the message.
   */
  async waitFor(re: RegExp, timeoutMs: number, within: (screen: string) => string = (s) => s): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = await this.screen();
      const m = re.exec(within(last));
      if (m) return m;
      if (Date.now() > end) throw new Error(`Profanity's screen did not show ${re} within ${timeoutMs} ms; it shows:\n${last}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The screen as text into `file` (the kept captures under clients/profanity/). */
  async saveScreen(file: string): Promise<void> {
    await writeFile(file, `${await this.screen()}\n`);
  }

  /** `/quit`, then the tmux server goes (by its socket; by its PID if it lingers). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.type('/quit').catch(() => {});
    const end = Date.now() + 5_000;
    while (alive(this.profanityPid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    await this.tmux('kill-server').catch(() => {});
    for (const pid of [this.profanityPid, this.serverPid]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
