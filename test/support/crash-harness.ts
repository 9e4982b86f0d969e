// The kill -9 harness between two gateways (issue 16 §2): two real `tlsim-gateway run` processes on fixed ports, a
// ResendingSender (@xmpp/client with stream management) on A and an @xmpp/client reader on B. A's user sends N
// messages to B's user while the harness kills one gateway with SIGKILL at random points of the stream and starts
// it again at once. Counted: what A acknowledged (SM <a/>), what reached B's user (by body), duplicates, and what
// each gateway's archive holds; then PRAGMA integrity_check on both databases.
import { ResendingSender } from '../../clients/xmppjs/resending-sender.js';
import { XmppJsClient } from '../../clients/xmppjs/client.js';
import { crashNumber, KilledGateway, sendWithKills, sleep, until } from './killed-gateway.js';

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
  /** Acknowledged by A's gateway and not in B's archive: lost between the gateways. */
  lost: number;
  /** Acknowledged and never shown to B's user (a client without MAM): only what the offline box dropped. */
  notShown: number;
  /** Older messages B's gateway said it dropped from the offline box (c2s.offline_messages kept) while the reader was away. */
  offlineDropped: number;
  /** Received by B's user more than once. */
  duplicates: number;
  /** Messages A's archive (out) and B's (in) hold more than once. */
  archiveDuplicates: { a: number; b: number };
  /** PRAGMA integrity_check of A's and B's database. */
  integrity: { a: string; b: string };
  /** Time from a kill until the gateway logged its start again, averaged. */
  meanRestartMs: number;
  seconds: number;
}

export class CrashPair {
  private a!: KilledGateway;
  private b!: KilledGateway;
  private sender!: ResendingSender;
  private reader: XmppJsClient | undefined;
  /** Times B's user received each message, by number. */
  private readonly seen = new Map<number, number>();
  /** What B's gateway said it dropped from the offline box ("N older messages were dropped"). */
  private offlineDropped = 0;

  constructor(private readonly builtCli: string) {}

  async start(): Promise<void> {
    [this.a, this.b] = await Promise.all([KilledGateway.start('a', this.builtCli), KilledGateway.start('b', this.builtCli)]);
    await this.a.cli(['peer', 'add', this.b.gw.status.share!, 'Bob']);
    await this.b.cli(['peer', 'add', this.a.gw.status.share!, 'Alice']);
    this.sender = new ResendingSender(() => this.a.clientOptions('crash-sender'));
    await Promise.all([this.sender.connect(), this.connectReader()]);
  }

  /** Sends `messages` from A's user to B's, killing `victim` `kills` times; then counts and checks. */
  async run(victim: Victim, messages: number, kills: number): Promise<CrashCounts> {
    const started = Date.now();
    const killed = victim === 'A' ? this.a : this.b;
    const kill = async () => {
      // A random moment: right away, or a little later while records, acks and commits are in flight.
      await sleep(Math.random() * 30);
      await killed.killAndRestart();
      if (victim === 'A') await this.sender.connect();
      else await this.connectReader();
      // Some traffic on the new process before the next kill may come.
      await sleep(100 + Math.random() * 400);
    };
    const acked = await sendWithKills(this.sender, this.b.jid, messages, kills, kill, victim === 'A');
    // Everything at B's user, or A's queue empty (B has it all) for long enough that what is missing is not coming.
    let emptySince: number | undefined;
    const settled = () => acked.every((i) => this.seen.has(i)) || (emptySince !== undefined && Date.now() - emptySince > 10_000);
    await until(settled, "B's user has everything, or A's queue is empty", async () => {
      if (emptySince === undefined && (await this.a.queued()) === 0) emptySince = Date.now();
    });
    await this.sender.stop();
    await this.reader?.stop();
    const [ca, cb] = [await this.a.killAndCheck('out'), await this.b.killAndCheck('in')];
    return {
      victim,
      messages,
      kills,
      acknowledged: acked.length,
      resent: this.sender.resent,
      arrived: this.seen.size,
      lost: acked.filter((i) => !cb.archived.has(i)).length,
      notShown: acked.filter((i) => !this.seen.has(i)).length,
      offlineDropped: this.offlineDropped,
      duplicates: [...this.seen.values()].filter((n) => n > 1).length,
      archiveDuplicates: { a: ca.archiveDuplicates, b: cb.archiveDuplicates },
      integrity: { a: ca.integrity, b: cb.integrity },
      meanRestartMs: killed.meanRestartMs,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  }

  async stop(): Promise<void> {
    await this.sender?.stop();
    await this.reader?.stop();
    await this.a?.stop();
    await this.b?.stop();
  }

  private async connectReader(): Promise<void> {
    await this.reader?.stop();
    const c = new XmppJsClient(this.b.clientOptions('crash-reader'));
    c.xmpp.on('stanza', (el) => {
      const body = el.is('message') ? (el.getChildText('body') ?? '') : '';
      const i = crashNumber(body);
      if (i !== undefined) this.seen.set(i, (this.seen.get(i) ?? 0) + 1);
      this.offlineDropped += Number(/^(\d+) older messages were dropped/.exec(body)?.[1] ?? 0);
    });
    this.reader = c;
    await c.start();
    await c.presence();
  }
}
