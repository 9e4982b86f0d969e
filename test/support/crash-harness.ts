// The kill -9 harness (issue 16 §2): two real `tlsim-gateway run` processes on fixed ports (a restarted one keeps
// its address), a ResendingSender (@xmpp/client with stream management) on A and an @xmpp/client reader on B. A's
// user sends N messages to B's user while the harness kills one gateway with SIGKILL at random points of the stream
// and starts it again at once. Counted: what A acknowledged (SM <a/>), what reached B's user (by body), duplicates,
// and what each gateway's archive holds; then PRAGMA integrity_check on both databases.
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ResendingSender } from '../../clients/xmppjs/resending-sender.js';
import { XmppJsClient, type XmppJsOptions } from '../../clients/xmppjs/client.js';
import { databasePath } from '../../gateway/paths.js';
import { cli, cliHome, startCliGateway, type CliGateway, type CliHome } from '../e2e/support/gateway.js';
import { freePort } from './net.js';

export type Victim = 'A' | 'B';

export interface CrashCounts {
  victim: Victim;
  messages: number;
  kills: number;
  /** Acknowledged to A's client by stream management. */
  acknowledged: number;
  /** Messages A's client sent again on a later connection (not acknowledged before a kill of A). */
  resent: number;
  /** Distinct messages B's user received. */
  arrived: number;
  /** Acknowledged and never received by B's user. */
  lost: number;
  /** Received by B's user more than once. */
  duplicates: number;
  /** Entries per message in A's archive (out) and B's (in) beyond one. */
  archiveDuplicates: { a: number; b: number };
  /** PRAGMA integrity_check of A's and B's database. */
  integrity: { a: string; b: string };
  /** Time from a kill until the gateway logged its start again, averaged. */
  meanRestartMs: number;
  seconds: number;
}

interface Side {
  home: CliHome;
  c2sPort: number;
  peerPort: number;
  gw: CliGateway;
}

const T = 60_000;
/** Messages A's client keeps in flight before it waits for acknowledgements (as SM clients bound their queue). */
const WINDOW = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bodyOf = (i: number) => `crash ${i}`;

export class CrashPair {
  private a!: Side;
  private b!: Side;
  private sender!: ResendingSender;
  private reader: XmppJsClient | undefined;
  /** Times B's user received each message, by number. */
  private readonly seen = new Map<number, number>();
  private restarts: number[] = [];

  constructor(private readonly builtCli: string) {}

  async start(): Promise<void> {
    const side = async (name: string): Promise<Side> => {
      const home = cliHome(`tlsim-crash-${name}`);
      const [c2sPort, peerPort] = [await freePort(), await freePort()];
      return { home, c2sPort, peerPort, gw: await this.boot({ home, c2sPort, peerPort }) };
    };
    [this.a, this.b] = await Promise.all([side('a'), side('b')]);
    for (const [me, other, name] of [[this.a, this.b, 'Bob'], [this.b, this.a, 'Alice']] as const) {
      const r = await cli(me.home, ['peer', 'add', other.gw.status.share!, name], T, this.builtCli);
      if (r.code !== 0) throw new Error(`peer add failed: ${r.stderr}`);
    }
    this.sender = new ResendingSender(() => this.clientOptions(this.a, 'crash-sender'));
    await Promise.all([this.sender.connect(), this.connectReader()]);
  }

  /**
   * Sends `messages` from A's user to B's, killing `victim` with SIGKILL `kills` times at random points of the
   * stream (each kill waits for the restart before the next); then waits for everything acknowledged to arrive.
   */
  async run(victim: Victim, messages: number, kills: number): Promise<CrashCounts> {
    const started = Date.now();
    const to = `${this.b.gw.status.fingerprint}@${this.b.gw.status.peerDomain}`;
    const at = new Set<number>();
    while (at.size < kills) at.add(1 + Math.floor(Math.random() * (messages - 1)));
    let killing: Promise<void> = Promise.resolve();
    let done = 0;
    for (let i = 0; i < messages; i++) {
      if (at.has(i)) {
        await killing; // one kill at a time: the gateway is back before the next
        killing = this.killAndRestart(victim);
        if (victim === 'A') await killing;
      }
      while (!this.sender.connected) await sleep(20);
      await this.sender.belowUnacked(WINDOW, T);
      this.sender.send(to, `m${i}`, bodyOf(i));
    }
    await killing;
    await this.until(() => this.sender.unacked.size === 0, 'every message acknowledged', async () => {
      if (!this.sender.connected) await this.sender.connect();
    });
    const acked = [...this.sender.acked].map((id) => Number(id.slice(1)));
    await this.until(() => acked.every((i) => this.seen.has(i)), "every acknowledged message at B's user");
    done = acked.length;
    const integrity = await this.stopAndCheck();
    const times = [...this.seen.values()];
    return {
      victim,
      messages,
      kills,
      acknowledged: done,
      resent: this.sender.resent,
      arrived: this.seen.size,
      lost: acked.filter((i) => !this.seen.has(i)).length,
      duplicates: times.filter((n) => n > 1).length,
      archiveDuplicates: { a: integrity.dupA, b: integrity.dupB },
      integrity: { a: integrity.a, b: integrity.b },
      meanRestartMs: Math.round(this.restarts.reduce((s, x) => s + x, 0) / Math.max(1, this.restarts.length)),
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  }

  /** Stops both gateways and clients (kill -9 again: the harder case for the databases) and checks the files. */
  async stop(): Promise<void> {
    await this.sender?.stop();
    await this.reader?.stop();
    for (const s of [this.a, this.b]) if (s && !s.gw.proc.exitInfo) await s.gw.proc.kill();
  }

  private async stopAndCheck(): Promise<{ a: string; b: string; dupA: number; dupB: number }> {
    await this.sender.stop();
    await this.reader?.stop();
    for (const s of [this.a, this.b]) {
      s.gw.proc.signal('SIGKILL');
      await s.gw.proc.exited;
    }
    const check = (s: Side, direction: 'in' | 'out') => {
      const db = new Database(databasePath(s.home.dataDir));
      try {
        const ok = db.pragma('integrity_check', { simple: true }) as string;
        const dup = db
          .prepare<[string], { n: number }>("SELECT count(*) AS n FROM (SELECT text FROM archive WHERE direction = ? AND text GLOB 'crash *' GROUP BY text HAVING count(*) > 1)")
          .get(direction)!.n;
        return { ok, dup };
      } finally {
        db.close();
      }
    };
    const [ca, cb] = [check(this.a, 'out'), check(this.b, 'in')];
    return { a: ca.ok, b: cb.ok, dupA: ca.dup, dupB: cb.dup };
  }

  private async killAndRestart(victim: Victim): Promise<void> {
    const side = victim === 'A' ? this.a : this.b;
    // A random moment: right away, or a little later while records, acks and commits are in flight.
    await sleep(Math.random() * 30);
    side.gw.proc.signal('SIGKILL');
    const killedAt = Date.now();
    await side.gw.proc.exited;
    side.gw = await this.boot(side);
    this.restarts.push(Date.now() - killedAt);
    if (victim === 'A') await this.sender.connect();
    else await this.connectReader();
    // Some traffic on the new process before the next kill may come.
    await sleep(100 + Math.random() * 400);
  }

  private boot(s: Pick<Side, 'home' | 'c2sPort' | 'peerPort'>): Promise<CliGateway> {
    return startCliGateway(s.home, s.peerPort, T, { c2sPort: s.c2sPort, builtCli: this.builtCli, logLevel: 'info' });
  }

  private async connectReader(): Promise<void> {
    await this.reader?.stop();
    const c = new XmppJsClient(this.clientOptions(this.b, 'crash-reader'));
    c.xmpp.on('stanza', (el) => {
      const m = /^crash (\d+)$/.exec(el.is('message') ? (el.getChildText('body') ?? '') : '');
      if (m) this.seen.set(Number(m[1]), (this.seen.get(Number(m[1])) ?? 0) + 1);
    });
    this.reader = c;
    await c.start();
    await c.presence();
  }

  private clientOptions(s: Side, resource: string): XmppJsOptions {
    const ca = readFileSync(s.gw.status.caCertFile, 'utf8');
    return { service: `xmpp://127.0.0.1:${s.c2sPort}`, domain: 'localhost', username: 'me', password: s.gw.password, resource, ca };
  }

  private async until(cond: () => boolean, what: string, poke?: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + T;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await poke?.();
      await sleep(100);
    }
  }
}
