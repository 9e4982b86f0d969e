// Being a member of a reference chat room (docs/rooms.md): dial it with our identity, answer fp2alias's alias
// question, learn our NAME from our join line, then lines both ways; redial with backoff while wanted.
// A room a gateway hosts selects x-tlsim-room/1 (ALPN): then room frames instead (wire/room-frames.ts): the
// occupants, history, ids we resume from on a redial (nothing lost, nothing twice) and our messages echoed.
import { TypedEmitter } from '../events.js';
import type { Link } from '../link.js';
import type { Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from '../peers/backoff.js';
import { dialPeer, type PeerAddress } from '../peers/dial.js';
import { ROOM_ALPNS, type TlsContext } from '../tls-context.js';
import { isRoomId, type RoomMarker, type RoomRecord } from '../wire/room-frames.js';
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
  /** Offer the room extension (default true); a reference room selects nothing and stays lines. */
  extension?: boolean;
  /** Messages asked for on a first join to a room with the extension (default 20). */
  history?: number;
  /**
   * The last room message id the member already keeps (from an earlier link, e.g. before a restart of the member):
   * the first join then asks for what followed it, as a redial does, instead of the last `history`; with `history`
   * given too, for at least the last `history` as well (the member keeps fewer than a client asked for). A redial
   * after a join asks only for what followed.
   */
  resumeAfter?: string;
  log: Logger;
}

/** An occupant, as a room with the extension tells it. */
export interface RoomOccupant {
  name: string;
  alias: string;
}

export interface RoomJoined {
  /** Our NAME in the room, `alias[pid]`: a new pid on every link. */
  name: string;
  /** Our alias: the one we gave, or the one fp2alias already had for our fingerprint. */
  alias: string;
  /** fp2alias asked (our fingerprint was new to the room). */
  asked: boolean;
  /** The room has the extension (x-tlsim-room/1): who is there now (us not included). Absent: lines. */
  present?: RoomOccupant[];
}

/** A message of a room with the extension: its stable id, its time, and whether it is our own coming back. */
export interface RoomSaid {
  id: string;
  name: string;
  alias: string;
  text: string;
  at: Date;
  /** Said before this connection joined (history, or missed while we were away). */
  history: boolean;
  /** Ours: the id we sent it with. */
  echo?: string;
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
  /** With the extension: an occupant comes or goes. */
  presence: (p: RoomOccupant & { present: boolean; at: Date }) => void;
  /** With the extension: a message, each id once per RoomLink (a redial resumes after the last one seen). */
  said: (m: RoomSaid) => void;
  /** With the extension: another member marked the room's message `id` (XEP-0333), live only. */
  marked: (m: RoomOccupant & { id: string; marker: RoomMarker }) => void;
  /** With the extension: the history the room sent on joining has all been emitted (live from here on). */
  'caught-up': () => void;
  down: (info: RoomDown) => void;
}

export type RoomLinkState = 'connecting' | 'joining' | 'joined' | 'waiting' | 'closed';

export const DEFAULT_JOIN_TIMEOUT_MS = 20_000;
/** Room message ids remembered to drop a repeat (a resumed log overlaps what we saw). */
const SEEN_IDS = 2_000;
/** Our messages not yet echoed, kept to send again on the next connection. */
const MAX_PENDING = 100;

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
  /** Room message ids seen on this RoomLink, oldest first (bounded), and the last one: where a redial resumes. */
  private readonly seen = new Set<string>();
  private lastId: string | undefined;
  /** Our messages sent and not echoed yet, by our id. */
  private readonly pending = new Map<string, string>();
  /** Welcomed once: from then on a join asks only for what followed the last id (older ones would show twice). */
  private everJoined = false;

  constructor(private readonly opts: RoomLinkOptions) {
    super((err, event) => opts.log.error({ err, event }, 'room listener failed'));
    if (!ALIAS_PATTERN.test(opts.alias)) throw new RangeError(`a room alias is [a-z0-9]{2,32}, got ${JSON.stringify(opts.alias)}`);
    this.backoff = new Backoff(opts.backoff);
    this.lastId = opts.resumeAfter !== undefined && isRoomId(opts.resumeAfter) ? opts.resumeAfter : undefined;
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

  /** The room has the extension: say() with ids and echoes, not send(). */
  get extended(): boolean {
    return this.stateNow === 'joined' && this.link?.protocol === 'room/1';
  }

  /** One line to the room (the text must hold no LF; the caller splits). */
  async send(line: string): Promise<void> {
    if (this.stateNow !== 'joined' || !this.link) throw new RoomNotJoinedError();
    await this.link.send(line);
  }

  /**
   * With the extension: a message (it may hold LFs) with our id. It comes back as a `said` with `echo` = id once
   * the room has it; if the connection drops first it is sent again on the next one (the room says it once).
   */
  async say(id: string, text: string): Promise<void> {
    if (!this.extended || !this.link) throw new RoomNotJoinedError();
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(id, text);
    await this.link.sendRecord({ type: 'room-say', id, text });
  }

  /**
   * With the extension: our user's client marked the room's message `id` (a room id). Not kept for a later
   * connection: a marker that did not go out is superseded by the next one.
   */
  async mark(id: string, marker: RoomMarker): Promise<void> {
    if (!this.extended || !this.link) throw new RoomNotJoinedError();
    await this.link.sendRecord({ type: 'room-mark', id, marker });
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
        // A reference room selects nothing: lines. A room a gateway hosts selects the room extension.
        gatewayAlpns: o.extension === false ? [] : ROOM_ALPNS,
        signal: this.abort.signal,
        log: o.log,
      });
    } catch (err) {
      this.failed((err as Error).message, false);
      return;
    }
    if ((this.stateNow as RoomLinkState) === 'closed') return void link.destroy();
    this.link = link;
    if (link.protocol === 'room/1') this.joinFrames(link);
    else this.join(link);
  }

  /** With the extension: our join frame (and where we left off), who is there, our welcome, then frames. */
  private joinFrames(link: Link): void {
    this.stateNow = 'joining';
    const present = new Map<string, RoomOccupant>();
    /** The history the room sends before our welcome (bounded: a room sends at most its log). */
    const early: Extract<RoomRecord, { type: 'room-said' }>[] = [];
    const j = this.joining(link);
    link.on('room', (r: RoomRecord) => {
      if (r.type === 'room-presence') {
        const at = new Date(r.at);
        if (this.stateNow !== 'joined') {
          if (r.present) present.set(r.name, { name: r.name, alias: r.alias });
          else present.delete(r.name);
        } else this.emit('presence', { name: r.name, alias: r.alias, present: r.present, at });
      } else if (r.type === 'room-welcome' && !j.done()) {
        j.settle();
        if (r.refused !== undefined) {
          this.refused = `the room refused us: ${r.refused}`;
          return;
        }
        this.backoff.reset();
        this.self = { name: r.name, alias: r.alias, asked: false, present: [...present.values()] };
        this.stateNow = 'joined';
        this.everJoined = true;
        this.emit('joined', this.self);
        for (const h of early.splice(0)) this.heard(h);
        this.emit('caught-up');
        // What we said that the room had not echoed when the last connection dropped: it says each once.
        for (const [id, text] of this.pending) link.sendRecord({ type: 'room-say', id, text }).catch(() => {});
      } else if (r.type === 'room-marked') {
        if (this.stateNow === 'joined') this.emit('marked', { id: r.id, marker: r.marker, name: r.name, alias: r.alias });
      } else if (r.type === 'room-said') {
        if (this.stateNow === 'joined') this.heard(r);
        else if (early.length < SEEN_IDS) early.push(r);
      }
    });
    link.start();
    const history = this.lastId === undefined ? (this.opts.history ?? 20) : this.everJoined ? undefined : this.opts.history;
    link.sendRecord({ type: 'room-join', alias: this.opts.alias, ...(this.lastId !== undefined && { after: this.lastId }), ...(history !== undefined && { history }) }).catch(() => {});
  }

  /** A room message, once per id on this RoomLink; the last one is where a redial resumes. */
  private heard(r: Extract<RoomRecord, { type: 'room-said' }>): void {
    if (this.seen.has(r.id)) return;
    this.seen.add(r.id);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value!);
    this.lastId = r.id;
    if (r.echo !== undefined) this.pending.delete(r.echo);
    this.emit('said', { id: r.id, name: r.name, alias: r.alias, text: r.text, at: new Date(r.at), history: r.history === true, ...(r.echo !== undefined && { echo: r.echo }) });
  }

  /** Until our join line: answer the question once, alone (fp2alias loses what follows it in the same read). */
  private join(link: Link): void {
    this.stateNow = 'joining';
    let asked = false;
    const j = this.joining(link);
    link.on('message', (m) => {
      for (const raw of splitRoomLines(m.text)) {
        const line = parseRoomLine(raw);
        if (this.stateNow === 'joined') {
          this.emit('line', line);
          continue;
        }
        if (j.done()) return;
        if (line.kind === 'alias-question' && !asked) {
          asked = true;
          link.send(this.opts.alias).catch(() => {});
        } else if (line.kind === 'joins') {
          j.settle();
          this.backoff.reset();
          this.self = { name: line.name, alias: line.alias, asked };
          this.stateNow = 'joined';
          this.emit('joined', this.self);
        } else if (line.kind === 'refused') {
          j.settle();
          this.refused = `the room refused us: ${line.text}`;
        }
      }
    });
    link.start();
  }

  /**
   * The join's deadline and the link's end, for lines and frames alike. done(): the join is decided (in, refused,
   * or the deadline passed); settle(): it is now.
   */
  private joining(link: Link): { done: () => boolean; settle: () => void } {
    let settled = false;
    const timeoutMs = this.opts.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
    const deadline = setTimeout(() => {
      if (settled) return;
      settled = true;
      link.destroy();
      this.failed(`the room did not let us in within ${Math.round(timeoutMs / 1000)} s (no alias question, no join line)`, false, link);
    }, timeoutMs);
    deadline.unref();
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
    return {
      done: () => settled,
      settle: () => {
        settled = true;
        clearTimeout(deadline);
      },
    };
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
