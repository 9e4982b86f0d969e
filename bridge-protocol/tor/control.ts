// Tor control-port client: one connection (TCP or Unix socket), pipelined commands answered in order, async events (control-spec §2–4).
//
// Our own rather than an npm package: the candidates are unmaintained (tor-control, 2015),
// AGPL and download Tor Browser at install time, which fails offline (granax), or open a
// connection per command and take a TCP chunk for a reply (Quiet's). research/tor.md §6.
import net from 'node:net';
import { TimeoutError } from '../errors.js';
import { TypedEmitter } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { checkTimeout } from '../transport/types.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_MAX_REPLY_BYTES,
  ReplyParser,
  TorControlError,
  TorError,
  checkArg,
  parseBootstrap,
  parseConfLines,
  parseKeyValueLines,
  quote,
  toEvent,
  type BootstrapStatus,
  type Reply,
  type TorEvent,
} from './control-parse.js';

export type ControlEndpoint = { host: string; port: number } | { path: string };

export interface TorControlOptions {
  logger?: Logger;
  /** Default per-command timeout (30 s): tor answers locally, so this only catches a wedged tor. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxLineBytes?: number;
  maxReplyBytes?: number;
}

export interface CommandOptions {
  timeoutMs?: number;
}

export interface TorControlEvents {
  [k: string]: (...args: any[]) => void;
  /** Every async (650) event. */
  event: (ev: TorEvent) => void;
  /** The connection is gone; `error` says why when it was not our close(). */
  close: (error?: Error) => void;
}

export interface OnionPort {
  /** The port peers dial on the onion address. */
  virt: number;
  /** `port`, `host:port` or `unix:/path` (HiddenServicePort syntax). */
  target: string;
}

export interface AddOnionOptions {
  /** 'NEW' for a key made by tor, or our `ED25519-V3:<base64>` blob (see onion-key.ts). */
  key: 'NEW' | string;
  ports: OnionPort[];
  /** DiscardPK, Detach, V3Auth, NonAnonymous, MaxStreamsCloseCircuit. */
  flags?: string[];
  maxStreams?: number;
}

export interface AddOnionResult {
  /** 56 base32 characters, without `.onion`. */
  serviceId: string;
  /** Only for key 'NEW' without DiscardPK: `ED25519-V3:<base64>`. */
  privateKey?: string;
}

interface Pending {
  keyword: string;
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  /** Timed out: its reply will still come (tor answers in order) and is dropped. */
  abandoned: boolean;
}

export class TorControl extends TypedEmitter<TorControlEvents> {
  private readonly queue: Pending[] = [];
  private readonly parser: ReplyParser;
  private readonly log: Logger;
  private readonly commandTimeoutMs: number;
  private closeError: Error | undefined;
  private isClosed = false;
  private closing = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly endpoint: ControlEndpoint,
    opts: TorControlOptions,
  ) {
    super((err, event) => this.log.error({ err, event }, 'tor control listener threw'));
    this.log = (opts.logger ?? silentLogger).child({ tor: describeEndpoint(endpoint) });
    this.commandTimeoutMs = checkTimeout(opts.commandTimeoutMs ?? 30_000, 'commandTimeoutMs');
    this.parser = new ReplyParser(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, opts.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new TorError('closed', `tor control connection failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new TorError('closed', 'tor closed the control connection')));
  }

  /** Connects (no authentication yet: see authenticate() in control-auth.ts). */
  static connect(endpoint: ControlEndpoint, opts: TorControlOptions = {}): Promise<TorControl> {
    const timeoutMs = checkTimeout(opts.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    return new Promise((resolve, reject) => {
      const socket = 'path' in endpoint ? net.connect({ path: endpoint.path }) : net.connect({ host: endpoint.host, port: endpoint.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`connecting to the tor control port ${describeEndpoint(endpoint)}`, timeoutMs));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new TorError('closed', `cannot connect to the tor control port ${describeEndpoint(endpoint)}: ${err.message}`, { cause: err }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TorControl(socket, endpoint, opts));
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends one command line and resolves with the reply when its code is 2xx; otherwise rejects
   * with TorControlError carrying tor's code. Only the keyword is ever logged.
   */
  command(line: string, opts: CommandOptions = {}): Promise<Reply> {
    checkArg(line);
    const keyword = line.split(' ', 1)[0]!.toUpperCase();
    if (this.isClosed) return Promise.reject(this.closeError ?? new TorError('closed', 'the tor control connection is closed'));
    const timeoutMs = checkTimeout(opts.timeoutMs ?? this.commandTimeoutMs);
    return new Promise((resolve, reject) => {
      const entry: Pending = { keyword, resolve, reject, timer: undefined, abandoned: false };
      entry.timer = setTimeout(() => {
        entry.abandoned = true;
        reject(new TimeoutError(`tor control command ${keyword}`, timeoutMs));
      }, timeoutMs);
      this.queue.push(entry);
      this.log.trace({ cmd: keyword }, 'tor command');
      this.socket.write(line + '\r\n');
    });
  }

  /** GETINFO: single-line values and data blocks alike, as strings (data-block lines joined by '\n'). */
  async getInfo(keys: string[]): Promise<Map<string, string>> {
    const reply = await this.command(`GETINFO ${keys.map(checkKeyword).join(' ')}`);
    return parseKeyValueLines(reply);
  }

  async getInfoOne(key: string): Promise<string> {
    const value = (await this.getInfo([key])).get(key);
    if (value === undefined) throw new TorError('protocol', `tor's GETINFO reply lacks ${key}`);
    return value;
  }

  /** GETCONF: every value of each key ([] for an option at its default). */
  async getConf(keys: string[]): Promise<Map<string, string[]>> {
    return parseConfLines(await this.command(`GETCONF ${keys.map(checkKeyword).join(' ')}`));
  }

  /** SETCONF: a string or several strings (replaces all values), or null to reset the key to its default. */
  async setConf(entries: Record<string, string | string[] | null>): Promise<void> {
    await this.command(`SETCONF ${confArgs(entries)}`);
  }

  async resetConf(keys: string[]): Promise<void> {
    await this.command(`RESETCONF ${keys.map(checkKeyword).join(' ')}`);
  }

  /** Replaces the whole set of events we receive (an empty list turns them all off). */
  async setEvents(events: string[]): Promise<void> {
    await this.command(['SETEVENTS', ...events.map(checkKeyword)].join(' '));
  }

  async addOnion(opts: AddOnionOptions): Promise<AddOnionResult> {
    if (opts.ports.length === 0) throw new RangeError('ADD_ONION needs at least one port');
    const key = opts.key === 'NEW' ? 'NEW:ED25519-V3' : checkKeyword(opts.key);
    const parts = ['ADD_ONION', key];
    if (opts.flags?.length) parts.push(`Flags=${opts.flags.map(checkKeyword).join(',')}`);
    if (opts.maxStreams !== undefined) parts.push(`MaxStreams=${opts.maxStreams}`);
    for (const p of opts.ports) {
      if (!Number.isInteger(p.virt) || p.virt < 1 || p.virt > 65535) throw new RangeError(`bad onion virtual port ${p.virt}`);
      parts.push(`Port=${p.virt},${checkKeyword(p.target)}`);
    }
    const values = parseKeyValueLines(await this.command(parts.join(' ')));
    const serviceId = values.get('ServiceID');
    if (!serviceId) throw new TorError('protocol', 'tor accepted ADD_ONION but sent no ServiceID');
    const privateKey = values.get('PrivateKey');
    return privateKey === undefined ? { serviceId } : { serviceId, privateKey };
  }

  async delOnion(serviceId: string): Promise<void> {
    await this.command(`DEL_ONION ${checkKeyword(serviceId)}`);
  }

  /** Tor exits when this connection closes (then RESETCONF __OwningControllerProcess: §3.23). */
  async takeOwnership(): Promise<void> {
    await this.command('TAKEOWNERSHIP');
  }

  async signal(name: 'RELOAD' | 'SHUTDOWN' | 'HALT' | 'NEWNYM' | 'DORMANT' | 'ACTIVE' | 'CLEARDNSCACHE' | 'HEARTBEAT'): Promise<void> {
    await this.command(`SIGNAL ${name}`);
  }

  async bootstrapStatus(): Promise<BootstrapStatus> {
    const text = await this.getInfoOne('status/bootstrap-phase');
    const status = parseBootstrap(text);
    if (!status) throw new TorError('protocol', `cannot parse tor's bootstrap phase: ${text.slice(0, 120)}`);
    return status;
  }

  /** Calls `listener` for each event of one type; returns the unsubscribe function. */
  onEvent(type: string, listener: (ev: TorEvent) => void): () => void {
    return this.on('event', (ev: TorEvent) => {
      if (ev.type === type) listener(ev);
    });
  }

  /** Sends QUIT and closes; resolves once the socket is gone (at most `timeoutMs`). */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.isClosed) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.command('QUIT', { timeoutMs }).catch(() => {});
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await closed;
    clearTimeout(timer);
  }

  /** Drops the connection at once (tests; and when a tor we own must go now). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    for (const reply of replies) {
      if (reply.code === 650 || (reply.code >= 600 && reply.code < 700)) {
        this.emit('event', toEvent(reply));
        continue;
      }
      const entry = this.queue.shift();
      if (!entry) {
        this.log.warn({ code: reply.code }, 'tor sent a reply nobody asked for');
        continue;
      }
      clearTimeout(entry.timer);
      if (entry.abandoned) continue;
      if (reply.code >= 200 && reply.code < 300) entry.resolve(reply);
      else entry.reject(errorFromReply(reply, entry.keyword));
    }
  }

  private fail(err: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = err;
    for (const entry of this.queue.splice(0)) {
      clearTimeout(entry.timer);
      if (!entry.abandoned) entry.reject(err);
    }
    this.log.debug({ reason: err.message }, 'tor control connection closed');
    this.emit('close', this.closing ? undefined : err);
  }
}

export function errorFromReply(reply: Reply, keyword: string): TorControlError {
  const text = reply.lines.map((l) => l.text).join('; ');
  return new TorControlError(reply.code, `tor refused ${keyword}: ${reply.code} ${text}`, keyword);
}

export function describeEndpoint(e: ControlEndpoint): string {
  return 'path' in e ? e.path : `${e.host}:${e.port}`;
}

/** A bare word: no spaces (they would start a new argument) and no line breaks. */
function checkKeyword(word: string): string {
  if (word.length === 0 || /[\s"]/.test(word)) throw new RangeError(`not a valid tor control keyword: ${JSON.stringify(word)}`);
  return word;
}

function confArgs(entries: Record<string, string | string[] | null>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(entries)) {
    checkKeyword(key);
    if (value === null) parts.push(key);
    else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${quote(v)}`);
  }
  if (parts.length === 0) throw new RangeError('SETCONF needs at least one key');
  return parts.join(' ');
}
