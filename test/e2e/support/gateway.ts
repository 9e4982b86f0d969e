// A whole gateway for end-to-end tests: in process through startGateway (ports 0, a temp data dir,
// its log kept), or as the real `tlsim-gateway` program (vite-node on gateway/cli.ts) for kill -9.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { parseConfigText } from '../../../gateway/config.js';
import { startGateway, type RunningGateway, type StatusJson } from '../../../gateway/daemon.js';
import { LogRing } from '../../../gateway/web/log-ring.js';
import { runToEnd, type CliHome, type RunResult } from '../../support/cli-program.js';
import { firstMatch } from '../../support/first-match.js';
import { tmpDir } from '../../support/identities.js';
import { spawnProc, type Proc } from '../../support/proc.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const VITE_NODE = join(REPO, 'node_modules', '.bin', 'vite-node');
const CLI_TS = join(REPO, 'gateway', 'cli.ts');

export type Policy = 'ask' | 'accept' | 'reject';

/** One JSON log line of the gateway (pino). */
export interface LogLine {
  time: number;
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** What the gateway logged, kept in memory, with a wait on a line. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();
  readonly logger: pino.Logger;

  /** `tee`: every line also goes there (the status page's log ring). */
  constructor(level = 'debug', tee?: { write(line: string): void }) {
    let partial = '';
    const sink = new Writable({
      write: (chunk, _enc, cb) => {
        partial += String(chunk);
        const parts = partial.split('\n');
        partial = parts.pop()!;
        for (const p of parts) {
          if (!p.trim()) continue;
          tee?.write(p);
          try {
            this.lines.push(JSON.parse(p) as LogLine);
          } catch {
            this.lines.push({ time: Date.now(), level: 30, msg: p });
          }
        }
        for (const w of [...this.waiters]) w();
        cb();
      },
    });
    this.logger = pino({ level }, sink);
  }

  mark(): number {
    return this.lines.length;
  }

  waitFor(pred: (l: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> {
    return firstMatch(this.lines, this.waiters, pred, {
      from,
      timeoutMs,
      timedOut: () => `no gateway log line matched within ${timeoutMs} ms; log tail:\n${this.tail()}`,
    });
  }

  tail(n = 40): string {
    return this.lines
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }
}

export interface InProcessGatewayOptions {
  /** peer.unknown_policy; default "ask" (the product default). */
  policy?: Policy;
  /** Fixed peer port (to restart on the same address); default 0 = a free one. */
  peerPort?: number;
  /** (Additive) Fixed XMPP client port (Dino finds its server only at port 5222); default 0 = a free one. */
  c2sPort?: number;
  /** Reuse a data directory (a restart); default a new temp dir. */
  dataDir?: string;
  /** Also listen for XMPP over WebSocket (RFC 7395) on a free port; default off. */
  websocket?: boolean;
  /** Also serve the status page (HTTPS) on a free port, with the log tail; default off. */
  web?: boolean;
  /** (Additive) More TOML, appended to the config (e.g. a [files] section). */
  extraConfig?: string;
  /** (Additive) Lines of the [c2s] table (extraConfig comes after the last table, and TOML forbids a second [c2s]). */
  c2sConfig?: string;
}

export interface E2eGateway {
  running: RunningGateway;
  dataDir: string;
  status: StatusJson;
  password: string;
  /** The XMPP server's leaf certificate (to pin in libpurple). */
  serverCertFile: string;
  caCertFile: string;
  c2sPort: number;
  peerPort: number;
  fingerprint: string;
  share: string;
  userJid: string;
  peerDomain: string;
  log: LogCapture;
  /** `<fingerprint>@peers.localhost`. */
  jidOf(fingerprint: string): string;
  stop(): Promise<void>;
}

/** How many stanzas the gateway's database keeps for its user's next login (read-only, beside the running gateway). */
export function keptForUser(gw: Pick<E2eGateway, 'dataDir'>): number {
  const db = new Database(join(gw.dataDir, 'gateway.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM undelivered').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** startGateway with its defaults except ports (0), no WebSocket, debug logs kept in memory. */
export async function startInProcessGateway(opts: InProcessGatewayOptions = {}): Promise<E2eGateway> {
  const dataDir = opts.dataDir ?? join(tmpDir('tlsim-e2e-gw'), 'data');
  const config = parseConfigText(
    `[c2s]\nport = ${opts.c2sPort ?? 0}\n${opts.c2sConfig ?? ''}[peer]\nport = ${opts.peerPort ?? 0}\nunknown_policy = "${opts.policy ?? 'ask'}"\n` +
      // Never a tor reaching the public network from a test (tor.mode "auto" is the default).
      `[websocket]\nenabled = ${opts.websocket ? 'true\nport = 0' : 'false'}\n[tor]\nmode = "off"\n[log]\nlevel = "debug"\n` +
      `[web]\nenabled = ${opts.web ? 'true\nport = 0' : 'false'}\n${opts.extraConfig ?? ''}`,
  );
  const logRing = opts.web ? new LogRing() : undefined;
  const log = new LogCapture('debug', logRing);
  const running = await startGateway({ config, dataDir, log: log.logger, ...(logRing && { logRing }) });
  const status = running.status();
  const password = (await readFile(status.passwordFile, 'utf8')).trim();
  return {
    running,
    dataDir,
    status,
    password,
    serverCertFile: join(dataDir, 'tls', 'server.pem'),
    caCertFile: status.caCertFile,
    c2sPort: status.c2sPort!,
    peerPort: status.peerPort!,
    fingerprint: status.fingerprint!,
    share: status.share!,
    userJid: status.jid,
    peerDomain: status.peerDomain,
    log,
    jidOf: (fp) => `${fp}@${status.peerDomain}`,
    stop: () => running.stop(),
  };
}

// ---- the real program ------------------------------------------------------------------

export { cliHome, type CliHome } from '../../support/cli-program.js';

/**
 * `tlsim-gateway <args>` to completion: through vite-node, or `builtCli` (a gateway/cli.js from useBuiltCli,
 * which starts in a fraction of vite-node's time).
 */
export function cli(home: CliHome, args: string[], timeoutMs = 60_000, builtCli?: string): Promise<RunResult> {
  const [file, first] = builtCli ? [process.execPath, builtCli] : [VITE_NODE, CLI_TS];
  return runToEnd(file, [first, ...args, '--data-dir', home.dataDir], { env: home.env, cwd: REPO, timeout: timeoutMs });
}

/** `tlsim-gateway status --json` of a home. */
export async function cliStatus(home: CliHome, builtCli?: string): Promise<StatusJson> {
  const r = await cli(home, ['status', '--json'], 60_000, builtCli);
  if (r.code !== 0) throw new Error(`status --json failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

export interface CliGateway {
  proc: Proc;
  status: StatusJson;
  password: string;
}

export interface CliGatewayOptions {
  /** Fixed XMPP client port (a restarted gateway keeps its address); default 0, a free one. */
  c2sPort?: number;
  /** Run this built gateway/cli.js with node instead of gateway/cli.ts through vite-node. */
  builtCli?: string;
  logLevel?: string;
}

/**
 * `tlsim-gateway run --data-dir D --c2s-port 0 --peer-port P --websocket-port 0` as its own process
 * group (vite-node keeps an esbuild helper: kill -9 takes both); resolves once it logged its start,
 * with the ports `status --json` reports.
 */
export async function startCliGateway(home: CliHome, peerPort: number, timeoutMs = 60_000, opts: CliGatewayOptions = {}): Promise<CliGateway> {
  const run = ['run', '--data-dir', home.dataDir, '--c2s-port', String(opts.c2sPort ?? 0), '--peer-port', String(peerPort)];
  const rest = ['--websocket-port', '0', '--web-port', '0', '--tor', 'off', '--log-level', opts.logLevel ?? 'debug'];
  const [file, first] = opts.builtCli ? [process.execPath, opts.builtCli] : [VITE_NODE, CLI_TS];
  const proc = await spawnProc(file, [first, ...run, ...rest], { env: home.env, cwd: REPO, stdin: 'ignore', group: true });
  await proc.waitFor(/"msg":"gateway started/, timeoutMs, { stream: 'stderr' });
  const status = await cliStatus(home, opts.builtCli);
  if (!status.running || status.pid === null) throw new Error(`status --json says not running: ${JSON.stringify(status)}`);
  const password = (await readFile(status.passwordFile, 'utf8')).trim();
  return { proc, status, password };
}
