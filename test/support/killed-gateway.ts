// A real `tlsim-gateway run` process that a crash test kills with SIGKILL and starts again at once, on the same
// ports (a restarted gateway keeps its addresses), and the sending half of a crash test: a ResendingSender's user
// writes N messages while the test kills a gateway at random points of the stream.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { XmppJsOptions } from '../../clients/xmppjs/client.js';
import type { ResendingSender } from '../../clients/xmppjs/resending-sender.js';
import { databasePath } from '../../gateway/paths.js';
import { cli, cliHome, startCliGateway, type CliGateway, type CliHome } from '../e2e/support/gateway.js';
import { freePort } from './net.js';

/** Every message of the long mode fits: what the box may drop is not what the harness measures. */
export const CRASH_OFFLINE_MESSAGES = 20_000;

export const CRASH_WAIT_MS = 60_000;
/** Messages a client keeps in flight before it waits for acknowledgements (as SM clients bound their queue). */
const WINDOW = 50;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KilledGateway {
  gw!: CliGateway;
  /** Milliseconds from each kill until the gateway logged its start again. */
  readonly restarts: number[] = [];

  private constructor(
    readonly home: CliHome,
    readonly c2sPort: number,
    readonly peerPort: number,
    private readonly builtCli: string,
  ) {}

  static async start(name: string, builtCli: string): Promise<KilledGateway> {
    const g = new KilledGateway(cliHome(`tlsim-crash-${name}`), await freePort(), await freePort(), builtCli);
    // The reader is away while its gateway restarts, and a fast sender fills its offline box meanwhile (25 of
    // 1 000 dropped once under load with the default 500): the harness counts loss, not the box's size.
    mkdirSync(dirname(g.home.configFile), { recursive: true });
    writeFileSync(g.home.configFile, `[c2s]\noffline_messages = ${CRASH_OFFLINE_MESSAGES}\n`);
    await g.boot();
    return g;
  }

  get jid(): string {
    return `${this.gw.status.fingerprint}@${this.gw.status.peerDomain}`;
  }

  /** `tlsim-gateway <args>` of this home, through its control socket while it runs. */
  async cli(args: string[]): Promise<string> {
    const r = await cli(this.home, args, CRASH_WAIT_MS, this.builtCli);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** Messages waiting in this gateway's queue (`status --json`). */
  async queued(): Promise<number> {
    return (JSON.parse(await this.cli(['status', '--json'])) as { queued: number }).queued;
  }

  /** SIGKILL now, then the same program on the same ports. */
  async killAndRestart(): Promise<void> {
    this.gw.proc.signal('SIGKILL');
    const killedAt = Date.now();
    await this.gw.proc.exited;
    await this.boot();
    this.restarts.push(Date.now() - killedAt);
  }

  get meanRestartMs(): number {
    return Math.round(this.restarts.reduce((s, x) => s + x, 0) / Math.max(1, this.restarts.length));
  }

  /** Options for an @xmpp/client of this gateway's user (read at each connect: the password file stays). */
  clientOptions(resource: string): XmppJsOptions {
    const ca = readFileSync(this.gw.status.caCertFile, 'utf8');
    return { service: `xmpp://127.0.0.1:${this.c2sPort}`, domain: 'localhost', username: 'me', password: this.gw.password, resource, ca };
  }

  /** Killed a last time; then PRAGMA integrity_check and the count of crash messages archived more than once. */
  async killAndCheck(direction: 'in' | 'out'): Promise<{ integrity: string; archiveDuplicates: number; archived: Set<number> }> {
    if (!this.gw.proc.exitInfo) {
      this.gw.proc.signal('SIGKILL');
      await this.gw.proc.exited;
    }
    const db = new Database(databasePath(this.home.dataDir));
    try {
      const integrity = db.pragma('integrity_check', { simple: true }) as string;
      const twice = db.prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM (SELECT text FROM archive WHERE direction = ? AND text GLOB 'crash *' GROUP BY text HAVING count(*) > 1)",
      );
      const texts = db.prepare<[string], { text: string }>("SELECT text FROM archive WHERE direction = ? AND text GLOB 'crash *'").all(direction);
      const archived = new Set(texts.map((r) => crashNumber(r.text)).filter((i) => i !== undefined));
      return { integrity, archiveDuplicates: twice.get(direction)!.n, archived };
    } finally {
      db.close();
    }
  }

  async stop(): Promise<void> {
    if (this.gw && !this.gw.proc.exitInfo) await this.gw.proc.kill();
  }

  private async boot(): Promise<void> {
    this.gw = await startCliGateway(this.home, this.peerPort, CRASH_WAIT_MS, { c2sPort: this.c2sPort, builtCli: this.builtCli, logLevel: 'info' });
  }
}

export const crashBody = (i: number) => `crash ${i}`;
export const crashNumber = (body: string): number | undefined => {
  const m = /^crash (\d+)$/.exec(body);
  return m ? Number(m[1]) : undefined;
};

/**
 * `messages` messages `crash <i>` (ids `m<i>`) from the sender's user to `to`, with `kill()` started at `kills`
 * random points of the stream, one at a time (`waitForKill`: the stream pauses until it is over, as when the
 * sender's own gateway dies); resolves once every message is acknowledged, with the numbers of all the sender
 * ever had acknowledged.
 */
export async function sendWithKills(
  sender: ResendingSender,
  to: string,
  messages: number,
  kills: number,
  kill: () => Promise<void>,
  waitForKill: boolean,
  /** The number of the first message (a second stream to the same peer goes on from the first). */
  first = 0,
): Promise<number[]> {
  const at = new Set<number>();
  while (at.size < kills) at.add(first + 1 + Math.floor(Math.random() * (messages - 1)));
  let killing: Promise<void> = Promise.resolve();
  for (let i = first; i < first + messages; i++) {
    if (at.has(i)) {
      await killing;
      killing = kill();
      if (waitForKill) await killing;
    }
    if (!sender.connected) await until(() => sender.connected, "the sender's connection");
    await sender.belowUnacked(WINDOW, CRASH_WAIT_MS);
    sender.send(to, `m${i}`, crashBody(i));
  }
  await killing;
  await until(() => sender.unacked.size === 0, 'every message acknowledged', async () => {
    if (!sender.connected) await sender.connect();
  });
  return [...sender.acked].map((id) => Number(id.slice(1)));
}

export async function until(cond: () => boolean, what: string, poke?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + CRASH_WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await poke?.();
    await sleep(100);
  }
}
