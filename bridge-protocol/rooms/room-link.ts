// Being a member of a reference chat room (docs/rooms.md): dial it with our identity, answer fp2alias's alias
// question, learn our NAME from our join line, then lines both ways; redial with backoff while wanted.
import { TypedEmitter } from '../events.js';
import type { Link } from '../link.js';
import type { Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from '../peers/backoff.js';
import { dialPeer, type PeerAddress } from '../peers/dial.js';
import type { TlsContext } from '../tls-context.js';
import type { Dialer } from '../transport/types.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../wire/line-codec.js';
import { ALIAS_PATTERN, parseRoomLine, splitRoomLines, type RoomLine } from '../wire/room-lines.js';

export interface RoomLinkOptions {
  /** The room's fingerprint: what its tlsd presents. */
  fingerprint: string;
  address: PeerAddress;
  dialer: Dialer;
  tls: TlsContext;
  /** What we answer fp2alias with ([a-z0-9]{2,32}; see aliasForNick). */
  alias: string;
  /** From connected to our join line: the alias question and its answer (default 20 s). */
  joinTimeoutMs?: number;
  dialTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  maxMessageBytes?: number;
  backoff?: BackoffOptions;
  log: Logger;
}

export interface RoomJoined {
  /** Our NAME in the room, `alias[pid]`: a new pid on every link. */
  name: string;
  /** Our alias: the one we gave, or the one fp2alias already had for our fingerprint. */
  alias: string;
  /** fp2alias asked (our fingerprint was new to the room). */
  asked: boolean;
}

export interface RoomDown {
  /** Why, in words for the user. */
  reason: string;
  /** When we dial again; absent when we do not (the room refused us, or close()). */
  retryInMs?: number;
  /** The link had been joined (a drop), rather than failing to join. */
  wasJoined: boolean;
}

export interface RoomLinkEvents {
  [event: string]: (...args: any[]) => void;
  joined: (info: RoomJoined) => void;
  /** Every line after our join line, in order. */
  line: (line: RoomLine) => void;
  down: (info: RoomDown) => void;
}

export type RoomLinkState = 'connecting' | 'joining' | 'joined' | 'waiting' | 'closed';

export const DEFAULT_JOIN_TIMEOUT_MS = 20_000;

/** Thrown by send() when the room is not joined (the user is told; nothing is queued). */
export class RoomNotJoinedError extends Error {
  constructor() {
    super('not connected to the room right now');
    this.name = 'RoomNotJoinedError';
  }
}

export class RoomLink extends TypedEmitter<RoomLinkEvents> {
  private link: Link | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private stateNow: RoomLinkState = 'waiting';
  private self: RoomJoined | undefined;

  constructor(private readonly opts: RoomLinkOptions) {
    super((err, event) => opts.log.error({ err, event }, 'room listener failed'));
    if (!ALIAS_PATTERN.test(opts.alias)) throw new RangeError(`a room alias is [a-z0-9]{2,32}, got ${JSON.stringify(opts.alias)}`);
    this.backoff = new Backoff(opts.backoff);
  }

  get state(): RoomLinkState {
    return this.stateNow;
  }

  /** Our NAME while joined. */
  get joined(): RoomJoined | undefined {
    return this.stateNow === 'joined' ? this.self : undefined;
  }

  /** Longest line we write: a member's line codec must take it with the room's `HH:MM NAME: ` in front. */
  get maxLineBytes(): number {
    return (this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) - 128;
  }

  start(): void {
    if (this.stateNow !== 'waiting' || this.timer) return;
    void this.attempt();
  }

  /** One line to the room (the text must hold no LF; the caller splits). */
  async send(line: string): Promise<void> {
    if (this.stateNow !== 'joined' || !this.link) throw new RoomNotJoinedError();
    await this.link.send(line);
  }

  async close(): Promise<void> {
    if (this.stateNow === 'closed') return;
    this.stateNow = 'closed';
    clearTimeout(this.timer);
    this.abort.abort();
    await this.link?.close();
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    if (this.stateNow === 'closed') return;
    this.stateNow = 'connecting';
    const o = this.opts;
    let link: Link;
    try {
      link = await dialPeer({
        fingerprint: o.fingerprint,
        address: o.address,
        dialer: o.dialer,
        tls: o.tls,
        dialTimeoutMs: o.dialTimeoutMs ?? 30_000,
        handshakeTimeoutMs: o.handshakeTimeoutMs ?? 30_000,
        maxMessageBytes: o.maxMessageBytes,
        // A room is a reference program: nothing to negotiate.
        gatewayAlpns: [],
        signal: this.abort.signal,
        log: o.log,
      });
    } catch (err) {
      this.failed((err as Error).message, false);
      return;
    }
    if ((this.stateNow as RoomLinkState) === 'closed') return void link.destroy();
    this.link = link;
    this.join(link);
  }

  /** Until our join line: answer the question once, alone (fp2alias loses what follows it in the same read). */
  private join(link: Link): void {
    this.stateNow = 'joining';
    let asked = false;
    let settled = false;
    const timeoutMs = this.opts.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
    const deadline = setTimeout(() => {
      if (settled) return;
      settled = true;
      link.destroy();
      this.failed(`the room did not let us in within ${Math.round(timeoutMs / 1000)} s (no alias question, no join line)`, false, link);
    }, timeoutMs);
    deadline.unref();
    link.on('message', (m) => {
      for (const raw of splitRoomLines(m.text)) {
        const line = parseRoomLine(raw);
        if (this.stateNow === 'joined') {
          this.emit('line', line);
          continue;
        }
        if (settled) return;
        if (line.kind === 'alias-question' && !asked) {
          asked = true;
          link.send(this.opts.alias).catch(() => {});
        } else if (line.kind === 'joins') {
          settled = true;
          clearTimeout(deadline);
          this.backoff.reset();
          this.self = { name: line.name, alias: line.alias, asked };
          this.stateNow = 'joined';
          this.emit('joined', this.self);
        } else if (line.kind === 'refused') {
          settled = true;
          clearTimeout(deadline);
          this.refused = `the room refused us: ${line.text}`;
        }
      }
    });
    link.on('close', (info) => {
      clearTimeout(deadline);
      if (this.link === link) this.link = undefined;
      if (this.stateNow === 'closed') return;
      const wasJoined = this.stateNow === 'joined';
      if (this.refused) {
        const reason = this.refused;
        this.refused = undefined;
        this.stateNow = 'closed';
        this.emit('down', { reason, wasJoined: false });
        return;
      }
      if (!settled || wasJoined) {
        settled = true;
        const why = info.error ? `: ${info.error.message}` : info.reason === 'remote' ? ': the room closed the connection' : '';
        this.failed(`link to the room lost${why}`, wasJoined, link);
      }
    });
    link.start();
  }

  private refused: string | undefined;

  private failed(reason: string, wasJoined: boolean, link?: Link): void {
    if (this.stateNow === 'closed') return;
    if (link && this.link === link) this.link = undefined;
    const retryInMs = this.backoff.next();
    this.stateNow = 'waiting';
    this.opts.log.debug({ reason, retryInMs }, 'room link down');
    this.timer = setTimeout(() => void this.attempt(), retryInMs);
    this.timer.unref();
    this.emit('down', { reason, retryInMs, wasJoined });
  }
}
