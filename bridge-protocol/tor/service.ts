// TorService: our onion services on a tor we launch (supervised: relaunched with backoff) or attach to; status, bootstrap, publication (research/tor.md §0.3, §2.4–2.6).
import { Backoff } from '../peers/backoff.js';
import { TypedEmitter } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { authenticate } from './control-auth.js';
import { TorError, parseBootstrap, parseHsDesc, type BootstrapStatus, type TorEvent } from './control-parse.js';
import { TorControl, describeEndpoint } from './control.js';
import { isRoutineTorWarning, launchTor, type TorProcess } from './launch.js';
import { OnionSet } from './onion-set.js';
import {
  readSocks,
  type OnionSpec,
  type SocksEndpoint,
  type TorServiceEvents,
  type TorServiceOptions,
  type TorState,
  type TorStatus,
} from './service-types.js';

export * from './service-types.js';

interface Session {
  control: TorControl;
  process?: TorProcess;
  /** onReady has begun (it awaits GETINFO; the 100% event and setUp may both call it). */
  readying: boolean;
}

/**
 * A supervised tor: start() once; it keeps our onion (options.onion) and every publish()ed one up across
 * tor crashes and dropped control connections until stop().
 */
export class TorService extends TypedEmitter<TorServiceEvents> {
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly stallMs: number;
  private readonly onions: OnionSet;
  private current: TorStatus;
  private session: Session | undefined;
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastBootstrapWarning: string | undefined;
  private lastTorWarning: string | undefined;

  constructor(private readonly opts: TorServiceOptions) {
    super((err, event) => this.log.error({ err, event }, 'tor service listener threw'));
    this.log = (opts.logger ?? silentLogger).child({ tor: opts.mode });
    if (opts.mode === 'launch' && !opts.launch) throw new RangeError("tor mode 'launch' needs launch options");
    if (opts.mode === 'control' && !opts.attach) throw new RangeError("tor mode 'control' needs a control endpoint");
    this.backoff = new Backoff(opts.restart);
    this.stallMs = opts.bootstrapStallMs ?? 60_000;
    this.current = { mode: opts.mode, state: 'off', bootstrap: { progress: 0, summary: 'Not started' } };
    if (opts.onion) this.current.onion = `${opts.onion.key.serviceId}.onion`;
    this.onions = new OnionSet(opts.onion, {
      log: this.log,
      warning: (w) => this.emit('warning', w),
      published: (onion) => this.emit('published', onion),
    });
  }

  status(): TorStatus {
    return structuredClone(this.current);
  }

  /** The SOCKS endpoint for dialing onions, once ready. */
  get socks(): SocksEndpoint | undefined {
    return this.current.socks;
  }

  /** The live, authenticated control connection (e.g. for HSFETCH or diagnostics); changes on every restart. */
  get control(): TorControl | undefined {
    return this.session?.control;
  }

  /** PID of our tor (mode 'launch'). */
  get pid(): number | undefined {
    return this.session?.process?.pid;
  }

  /**
   * One more onion service on this tor (a transport-mode user's): remembered, added now if tor is up, and
   * again after every restart. Rejects only when tor refuses it; 'published' follows as for ours.
   */
  publish(onion: OnionSpec): Promise<void> {
    return this.onions.publish(onion);
  }

  /** Our onion's extra ports (beyond the peer port) are now these: added again with them when tor is up. */
  setOwnExtraPorts(ports: ReadonlyArray<{ virt: number; target: string }>): Promise<void> {
    return this.onions.setOwnExtraPorts(ports);
  }

  /** Withdraws a publish()ed service (DEL_ONION when tor is up) and forgets it; never fails for a tor that is gone. */
  unpublish(serviceId: string): Promise<void> {
    return this.onions.unpublish(serviceId);
  }

  /** Service ids (no `.onion`) kept on this tor: ours first, then the publish()ed ones. */
  onionServiceIds(): string[] {
    return this.onions.serviceIds();
  }

  /** A descriptor of this service reached a directory since tor last (re)started. */
  isPublished(serviceId: string): boolean {
    return this.onions.isPublished(serviceId);
  }

  /** Starts (resolves after the first attempt, whatever its outcome: follow 'status' and 'ready'). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.attempt();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.stallTimer);
    const s = this.session;
    this.session = undefined;
    this.onions.detach();
    if (s) {
      await s.control.close().catch(() => {});
      // Owned: closing the control connection ends tor at once; the kill is the backstop.
      if (s.process) await Promise.race([s.process.exited, delay(5_000)]).then(() => s.process!.kill());
    }
    this.update({ state: 'off', socks: undefined });
  }

  private async attempt(): Promise<void> {
    if (!this.running) return;
    this.update({ state: 'starting', socks: undefined, bootstrap: { progress: 0, summary: 'Starting tor' } });
    let session: Session | undefined;
    try {
      session = await this.open();
      if (!this.running) throw new TorError('closed', 'stopped while starting');
      this.session = session;
      await this.setUp(session);
    } catch (err) {
      // Forget the session first, so its exit (which we cause here) is not taken for a crash too.
      if (this.session === session) {
        this.session = undefined;
        this.onions.detach();
      }
      if (session) {
        session.control.destroy();
        await session.process?.kill();
      }
      if (!this.running) return;
      const message = (err as Error).message;
      this.log.warn({ err: message }, 'tor start failed');
      this.update({ state: 'failed', bootstrap: { ...this.current.bootstrap, warning: message } });
      this.emit('warning', { source: 'tor', message });
      this.scheduleRetry();
    }
  }

  private async open(): Promise<Session> {
    if (this.opts.mode === 'launch') {
      const launched = await launchTor({ ...this.opts.launch!, logger: this.log });
      const session: Session = { control: launched.control, process: launched.process, readying: false };
      launched.process.onLog((l) => {
        if ((l.level === 'warn' || l.level === 'err') && !isRoutineTorWarning(l.message)) this.lastTorWarning = l.message;
        this.log.debug({ level: l.level, msg: l.message }, 'tor says');
      });
      void launched.process.exited.then(() => this.onSessionEnd(session, launched.process.describeExit()));
      // Owned tor exits when its control connection closes; if it somehow does not, make it.
      launched.control.on('close', () => setTimeout(() => void launched.process.kill(), 5_000).unref());
      return session;
    }
    const { endpoint, auth } = this.opts.attach!;
    const control = await TorControl.connect(endpoint, { logger: this.log });
    try {
      await authenticate(control, auth);
    } catch (err) {
      control.destroy();
      throw err;
    }
    const session: Session = { control, readying: false };
    control.on('close', (err?: Error) => this.onSessionEnd(session, `lost the control connection to ${describeEndpoint(endpoint)}: ${err?.message ?? 'closed'}`));
    return session;
  }

  private async setUp(s: Session): Promise<void> {
    const { control } = s;
    control.on('event', (ev: TorEvent) => this.onEvent(s, ev));
    await control.setEvents(['STATUS_CLIENT', 'HS_DESC', 'WARN']);
    this.lastBootstrapWarning = undefined;
    this.onBootstrap(s, await control.bootstrapStatus());
    // Before the network is on, so tor publishes them as soon as it can.
    await this.onions.attach(control);
    if (this.opts.mode === 'launch' && this.opts.network !== false) await control.setConf({ DisableNetwork: '0' });
    if (this.current.bootstrap.progress >= 100) await this.onReady(s);
    else this.armStall(s);
  }

  private onEvent(s: Session, ev: TorEvent): void {
    if (s !== this.session) return;
    if (ev.type === 'STATUS_CLIENT') {
      const b = parseBootstrap(ev.body);
      if (b) this.onBootstrap(s, b);
      else if (/^\S+ CIRCUIT_NOT_ESTABLISHED/.test(ev.body)) this.emit('warning', { source: 'tor', message: `tor: ${ev.body}` });
    } else if (ev.type === 'HS_DESC') {
      const d = parseHsDesc(ev.body);
      if (d) this.onions.onHsDesc(d);
    } else if (ev.type === 'WARN' && !isRoutineTorWarning(ev.body)) {
      this.lastTorWarning = ev.body;
    }
  }

  private onBootstrap(s: Session, b: BootstrapStatus): void {
    if (b.warning !== undefined) {
      this.lastBootstrapWarning = b.warning;
      // tor says "warn" from the 10th identical problem on; before that the problems are routine.
      if (b.recommendation === 'warn') this.emit('warning', { source: 'bootstrap', message: `tor: ${b.warning} (${b.summary})` });
      return;
    }
    const moved = b.progress !== this.current.bootstrap.progress;
    const state = this.current.state === 'starting' ? 'bootstrapping' : this.current.state;
    this.update({ state, bootstrap: { progress: b.progress, summary: b.summary } });
    if (b.progress >= 100) {
      void this.onReady(s).catch((err: Error) => this.emit('warning', { source: 'control', message: err.message }));
    } else if (moved) {
      this.armStall(s);
    }
  }

  private async onReady(s: Session): Promise<void> {
    clearTimeout(this.stallTimer);
    if (s.readying || this.current.state === 'ready') return;
    s.readying = true;
    let socks: SocksEndpoint | undefined;
    try {
      socks = this.opts.attach?.socks ?? (await readSocks(s.control));
    } finally {
      s.readying = false;
    }
    // Re-read: the state may have changed while we awaited (TS narrowed it from the check above).
    if (s !== this.session || (this.current.state as TorState) === 'ready') return;
    if (!socks) throw new TorError('protocol', 'tor has bootstrapped but has no SOCKS listener');
    this.backoff.reset();
    this.update({ state: 'ready', socks });
    this.log.info({ socks: `${socks.host}:${socks.port}` }, 'tor ready');
    this.emit('ready', socks);
  }

  /** Never a silent hang: no progress for stallMs is reported with tor's own words. */
  private armStall(s: Session): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      if (s !== this.session || this.current.state === 'ready') return;
      const b = this.current.bootstrap;
      const offline = this.opts.mode === 'launch' && this.opts.network === false;
      const why = offline
        ? 'the network is disabled (DisableNetwork 1)'
        : (this.lastBootstrapWarning ?? this.lastTorWarning ?? s.process?.lastWarning ?? 'tor gave no reason');
      const message = `tor bootstrap made no progress for ${Math.round(this.stallMs / 1000)} s (at ${b.progress}%: ${b.summary}); tor says: ${why}`;
      this.update({ bootstrap: { ...b, warning: why } });
      this.log.warn({ progress: b.progress, why }, 'tor bootstrap stuck');
      this.emit('warning', { source: 'bootstrap', message });
      this.armStall(s);
    }, this.stallMs);
    this.stallTimer.unref?.();
  }

  private onSessionEnd(s: Session, reason: string): void {
    if (s !== this.session || !this.running) return;
    this.session = undefined;
    this.onions.detach();
    clearTimeout(this.stallTimer);
    s.control.destroy();
    const exit = s.process?.exitInfo;
    this.log.warn({ reason }, 'tor went away');
    this.emit('exited', exit ? { reason, code: exit.code, signal: exit.signal } : { reason });
    this.update({ state: 'starting', socks: undefined, bootstrap: { progress: 0, summary: 'Restarting tor' } });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.running) return;
    const ms = this.backoff.next();
    this.log.info({ inMs: ms }, 'tor restart scheduled');
    this.retryTimer = setTimeout(() => void this.attempt(), ms);
  }

  private update(patch: Partial<TorStatus>): void {
    const next = { ...this.current, ...patch };
    for (const k of Object.keys(patch) as (keyof TorStatus)[]) if (patch[k] === undefined) delete next[k];
    this.current = next;
    this.emit('status', this.status());
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
