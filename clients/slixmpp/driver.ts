// Drives clients/slixmpp/driver.py (a real slixmpp client) over JSON lines: typed commands, awaited events.
import { fileURLToPath } from 'node:url';
import { firstMatch } from '../../test/support/first-match.js';
import { spawnProc, type Proc } from '../../test/support/proc.js';
import type {
  AdHocItem,
  AdHocResult,
  CarbonEvent,
  ChatStateName,
  Command,
  ConnectCommand,
  DiscoInfo,
  FieldValue,
  MamCommand,
  MamPage,
  MarkerName,
  RegistrationForm,
  RegistrationResult,
  ResultOf,
  RosterItem,
  SendOptions,
  SlixEvent,
} from './driver-types.js';

export * from './driver-types.js';

const SCRIPT = fileURLToPath(new URL('./driver.py', import.meta.url));
/** Debian's python: another python3 earlier on PATH may not see python3-slixmpp. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** A failed command: the driver's error event, whole, so a test can show what the server answered. */
export class SlixCommandError extends Error {
  constructor(readonly detail: Extract<SlixEvent, { event: 'error' }>) {
    super(`slixmpp ${detail.cmd ?? ''} failed: ${detail.error}${detail.condition ? ` (${detail.condition})` : ''}${detail.xml ? `\n${detail.xml}` : ''}`);
  }
}

export interface StartOptions {
  /** Python log level on stderr; 'debug' prints every stanza slixmpp sends and receives. */
  log?: 'debug' | 'info' | 'warning';
}

export class SlixmppClient {
  /** Every event so far, in order. */
  readonly events: SlixEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private nextId = 1;
  private buffered = '';

  private constructor(readonly proc: Proc) {}

  static async start(opts: StartOptions = {}): Promise<SlixmppClient> {
    const proc = await spawnProc(SYSTEM_PYTHON, ['-u', SCRIPT, '--log', opts.log ?? 'debug'], {
      env: { PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    const client = new SlixmppClient(proc);
    client.watch();
    await client.waitForEvent((e) => e.event === 'ready', 30_000);
    return client;
  }

  private watch(): void {
    let seen = 0;
    const pump = (): void => {
      const out = this.proc.output('stdout');
      // output() is a tail; the mark keeps absolute positions.
      const total = this.proc.mark().stdout;
      const fresh = out.slice(out.length - (total - seen));
      seen = total;
      this.buffered += fresh;
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.events.push(JSON.parse(line) as SlixEvent);
        } catch {
          this.events.push({ event: 'error', error: `unparsable driver line: ${line}` });
        }
      }
      for (const w of [...this.waiters]) w();
    };
    // Proc.waitFor re-checks on every chunk of output: use it as the notification hook.
    const loop = (): void => {
      this.proc
        .waitFor(() => this.proc.mark().stdout > seen, 2 ** 31 - 1, { stream: 'stdout' })
        .then(() => {
          pump();
          loop();
        })
        .catch(() => {
          pump();
          for (const w of [...this.waiters]) w();
        });
    };
    loop();
  }

  /** The first event (already received or later) matching; `from` skips events before that index. */
  waitForEvent<E extends SlixEvent = SlixEvent>(
    pred: (e: SlixEvent) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<E> {
    return firstMatch(this.events, this.waiters, pred, {
      from,
      timeoutMs,
      ended: () => (this.proc.exitInfo ? `slixmpp driver exited before the awaited event; events:\n${this.recent()}${this.proc.tails(6_000)}` : undefined),
      timedOut: () => `no slixmpp event matched within ${timeoutMs} ms; events:\n${this.recent()}${this.proc.tails(6_000)}`,
    }) as Promise<E>;
  }

  /** Index of the next event: pass to waitForEvent to ignore what came before. */
  mark(): number {
    return this.events.length;
  }

  recent(n = 30): string {
    return this.events.slice(-n).map((e) => JSON.stringify(e)).join('\n');
  }

  /** Writes one command without waiting for its answer. */
  async post(command: Command & { id?: string }): Promise<void> {
    await this.proc.write(JSON.stringify(command) + '\n');
  }

  /** Sends a command and resolves with its result (rejects with SlixCommandError on its error event). */
  async request<C extends Command>(command: C, timeoutMs = 60_000): Promise<ResultOf<C['cmd']>> {
    const id = `c${this.nextId++}`;
    const from = this.mark();
    await this.post({ ...command, id });
    const answer = await this.waitForEvent(
      (e) => (e.event === 'result' || e.event === 'error') && 'id' in e && e.id === id,
      timeoutMs,
      from,
    );
    if (answer.event === 'error') throw new SlixCommandError(answer);
    const { event: _e, id: _i, cmd: _c, ...rest } = answer as Extract<SlixEvent, { event: 'result' }>;
    return rest as ResultOf<C['cmd']>;
  }

  /**
   * Connects and resolves at session_start (or rejects at the first failure event, with the
   * driver's debug log, which holds every stanza sent and received).
   */
  async connect(opts: ConnectCommand, timeoutMs = 60_000): Promise<Extract<SlixEvent, { event: 'session_start' }>> {
    const from = this.mark();
    await this.request({ cmd: 'connect', ...opts }, timeoutMs);
    const e = await this.waitForEvent(
      (ev) =>
        ['session_start', 'failed_auth', 'failed_all_auth', 'tls_invalid', 'stream_error', 'connection_failed', 'disconnected'].includes(
          ev.event,
        ),
      timeoutMs,
      from,
    );
    if (e.event !== 'session_start') {
      throw new Error(`slixmpp login failed: ${JSON.stringify(e)}\nevents:\n${this.recent()}${this.proc.tails(8_000)}`);
    }
    return e as Extract<SlixEvent, { event: 'session_start' }>;
  }

  send(to: string, body: string, opts: SendOptions = {}): Promise<{ msg_id: string }> {
    return this.request({ cmd: 'send', to, body, ...opts });
  }

  /** Sends a XEP-0184 receipt or a XEP-0333 marker for the message `msgId` from `to`. */
  async marker(to: string, msgId: string, marker: MarkerName, type?: 'chat' | 'groupchat'): Promise<void> {
    await this.request({ cmd: 'marker', to, msg_id: msgId, marker, ...(type && { type }) });
  }

  /** Sends a XEP-0085 chat state alone. */
  async chatState(to: string, state: ChatStateName): Promise<void> {
    await this.request({ cmd: 'chat_state', to, state });
  }

  /** The first event of `kind` matching `pred` after event index `from`. */
  nextOf<K extends 'receipt' | 'marker' | 'chat_state'>(
    kind: K,
    pred: (e: Extract<SlixEvent, { event: K }>) => boolean = () => true,
    timeoutMs = 30_000,
    from = 0,
  ): Promise<Extract<SlixEvent, { event: K }>> {
    return this.waitForEvent<Extract<SlixEvent, { event: K }>>(
      (e) => e.event === kind && pred(e as Extract<SlixEvent, { event: K }>),
      timeoutMs,
      from,
    );
  }

  /** The next chat message (after `from`, default: any not yet consumed by this call's caller). */
  nextMessage(pred: (m: Extract<SlixEvent, { event: 'message' }>) => boolean = () => true, timeoutMs = 30_000, from = 0) {
    return this.waitForEvent<Extract<SlixEvent, { event: 'message' }>>(
      (e) => e.event === 'message' && pred(e),
      timeoutMs,
      from,
    );
  }

  ping(to?: string): Promise<ResultOf<'ping'>> {
    return this.request(to ? { cmd: 'ping', to } : { cmd: 'ping' });
  }

  discoInfo(to: string, node?: string): Promise<DiscoInfo> {
    return this.request(node ? { cmd: 'disco_info', to, node } : { cmd: 'disco_info', to });
  }

  roster(): Promise<{ items: RosterItem[] }> {
    return this.request({ cmd: 'roster' });
  }

  /** XEP-0077: what `to` asks for to register (and whether we are registered already). */
  registerForm(to: string): Promise<RegistrationForm> {
    return this.request({ cmd: 'register_form', to });
  }

  /** XEP-0077: fetches the form and submits `fields` (as a data form when one was offered). */
  register(to: string, fields?: Record<string, FieldValue>): Promise<RegistrationResult> {
    return this.request(fields ? { cmd: 'register', to, fields } : { cmd: 'register', to });
  }

  /** XEP-0077 §3.2: <remove/>. */
  unregister(to: string): Promise<{ from: string }> {
    return this.request({ cmd: 'unregister', to });
  }

  /** XEP-0050: the commands `to` offers. */
  adHocList(to: string): Promise<{ items: AdHocItem[] }> {
    return this.request({ cmd: 'adhoc_list', to });
  }

  /** XEP-0050: executes `node`; if a form comes back and `fields` is given, submits it. */
  adHoc(to: string, node: string, fields?: Record<string, FieldValue>): Promise<AdHocResult> {
    return this.request(fields ? { cmd: 'adhoc', to, node, fields } : { cmd: 'adhoc', to, node });
  }

  /** XEP-0313: pages through the archive with slixmpp's xep_0313 plugin; every page it got. */
  mam(query: MamCommand = {}, timeoutMs = 120_000): Promise<{ pages: MamPage[] }> {
    return this.request({ cmd: 'mam', ...query }, timeoutMs);
  }

  /** XEP-0055: the search form `to` offers, then its submission with `fields` (slixmpp's xep_0055). */
  search(to: string, fields: Record<string, FieldValue>): Promise<ResultOf<'search'>> {
    return this.request({ cmd: 'search', to, fields });
  }

  /** XEP-0280: enables (or disables) carbons for this session. */
  carbons(enable = true): Promise<{ type: string }> {
    return this.request({ cmd: 'carbons', enable });
  }

  /** The next carbon of that direction matching (the forwarded message), after event index `from`. */
  nextCarbon(direction: 'received' | 'sent', pred: (c: CarbonEvent) => boolean = () => true, timeoutMs = 30_000, from = 0): Promise<CarbonEvent> {
    return this.waitForEvent<CarbonEvent>((e) => e.event === `carbon_${direction}` && pred(e as CarbonEvent), timeoutMs, from);
  }

  /** (Additive) The next PEP notification item of `node` matching, after event index `from`. */
  nextPepEvent(node: string, pred: (e: Extract<SlixEvent, { event: 'pep_event' }>) => boolean = () => true, timeoutMs = 30_000, from = 0) {
    return this.waitForEvent<Extract<SlixEvent, { event: 'pep_event' }>>((e) => e.event === 'pep_event' && e.node === node && pred(e), timeoutMs, from);
  }

  /** The next subscription presence (subscribe, subscribed, …) matching, after event index `from`. */
  nextSubscription(pred: (s: Extract<SlixEvent, { event: 'subscription' }>) => boolean = () => true, timeoutMs = 30_000, from = 0) {
    return this.waitForEvent<Extract<SlixEvent, { event: 'subscription' }>>(
      (e) => e.event === 'subscription' && pred(e),
      timeoutMs,
      from,
    );
  }

  /** (Additive) XEP-0363: uploads a file with slixmpp's xep_0363 (its own service discovery); the GET URL. */
  upload(path: string, contentType?: string, timeoutMs = 120_000): Promise<ResultOf<'upload'>> {
    return this.request(contentType ? { cmd: 'upload', path, content_type: contentType } : { cmd: 'upload', path }, timeoutMs);
  }

  /** (Additive) Sends a file as Pidgin does: XEP-0096 stream initiation, then XEP-0047 in-band bytes. */
  siSend(to: string, path: string, timeoutMs = 120_000): Promise<ResultOf<'si_send'>> {
    return this.request({ cmd: 'si_send', to, path }, timeoutMs);
  }

  /** (Additive) GETs a URL over verified HTTPS; its status, size and SHA-256. */
  download(url: string, timeoutMs = 120_000): Promise<ResultOf<'download'>> {
    return this.request({ cmd: 'download', url }, timeoutMs);
  }

  /** Closes the stream (</stream:stream>) and waits for the driver to see the disconnect. */
  async disconnect(): Promise<void> {
    const from = this.mark();
    await this.request({ cmd: 'disconnect' });
    await this.waitForEvent((e) => e.event === 'disconnected', 30_000, from);
  }

  /** Kills the driver (by PID). */
  async stop(): Promise<void> {
    this.proc.closeStdin();
    await this.proc.kill();
  }
}
