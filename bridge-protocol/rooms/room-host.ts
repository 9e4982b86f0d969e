// Hosting a chat room that reference members join exactly as they join TLSd's sample chat (docs/rooms.md):
// a TLS listener of the room's own identity, fp2alias's alias question for a fingerprint it does not know
// (policy "open"; "members" refuses strangers as fp2alias without -a does), names `alias[n]`, and lines as
// tlsd-chat.sh writes them: `HH:MM NAME: text` to every other member, `HH:MM * NAME joins|quits`.
// Beyond the reference: a newcomer reads who is there and the last lines said (history), a member who
// floods is cut (not the room), and the room has a size cap. The gateway's own users join as members too,
// through a RoomLink, so every client sees one room.
// A member that is a gateway negotiates x-tlsim-room/1 (ALPN, as one-to-one links negotiate theirs) and gets room
// frames instead of lines (wire/room-frames.ts): who is there, history with the original times, stable ids from a
// bounded log so a reconnect resumes, its own message echoed with its id, and the other member gateways' chat
// markers (room-marks.ts bounds them). A reference member offers no ALPN and reads exactly the lines it always did.
import { randomBytes } from 'node:crypto';
import { TypedEmitter } from '../events.js';
import type { Link } from '../link.js';
import type { Logger } from '../logger.js';
import { InboundListeners } from '../peers/listener.js';
import type { PeerAddress } from '../peers/dial.js';
import { ROOM_ALPNS, type TlsContext } from '../tls-context.js';
import { MAX_ROOM_HISTORY, type RoomJoinRecord, type RoomMarkRecord, type RoomRecord } from '../wire/room-frames.js';
import { ALIAS_PATTERN, ALIAS_QUESTION, NOT_RECOGNIZED, roomVisible, splitRoomLines } from '../wire/room-lines.js';
import { MemberMarks, TokenBucket, type MarkLimits } from './room-marks.js';

export type RoomPolicy = 'open' | 'members';

/** The room's memory of its members, per fingerprint (kept by the owner: the gateway's store). */
export interface RoomBook {
  aliasOf(fingerprint: string): string | undefined;
  /** Who holds an alias, if anyone. */
  holderOf(alias: string): string | undefined;
  remember(fingerprint: string, alias: string): void;
  banned(fingerprint: string): boolean;
}

/** A message of the room's log as its keeper stores it: the room's id and time, who said it, what members read. */
export interface RoomLogEntry {
  id: string;
  at: number;
  name: string;
  alias: string;
  fingerprint: string;
  text: string;
  echo?: string;
}

/**
 * Where the room's log outlives the process (the gateway's store): loaded once when the room starts, one append per
 * message said. Ids are kept as given, so a member gateway resumes after a restart by the id it saw last.
 */
export interface RoomLog {
  /** The last `limit` messages kept, oldest first. */
  load(limit: number): RoomLogEntry[];
  /** One more message; the keeper keeps the last `keep` and drops the older ones. */
  append(e: RoomLogEntry, keep: number): void;
}

export interface RoomHostOptions {
  tls: TlsContext;
  listen: PeerAddress[];
  policy: () => RoomPolicy;
  book: RoomBook;
  log: Logger;
  /** Members at once (default 50); one more is told the room is full. */
  maxMembers?: number;
  /** Lines said that a newcomer reads after its join line (default 20). */
  historyLines?: number;
  /** Messages kept with their ids for members that are gateways, to resume from (default 200). */
  logSize?: number;
  /** Keeps the log across restarts (default: in memory, gone with the process). */
  logStore?: RoomLog;
  /** Offer the room extension to member gateways (default true; false: lines for everyone). */
  extension?: boolean;
  /** Lines a member may send at once, and refilled per second (default 20 and 2). */
  floodBurst?: number;
  floodPerSecond?: number;
  /** A member gateway's chat markers: their rate, and how many message ids it is remembered to have marked. */
  marks?: MarkLimits;
  /** Answer to the alias question (default 60 s). */
  aliasTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  maxMessageBytes?: number;
  now?: () => Date;
}

export interface RoomMember {
  name: string;
  alias: string;
  fingerprint: string;
}

export interface RoomHostEvents {
  [event: string]: (...args: any[]) => void;
  joins: (m: RoomMember) => void;
  quits: (m: RoomMember, reason: string) => void;
  line: (m: RoomMember, text: string) => void;
}

export const ROOM_FULL = 'The room is full.';
export const FLOOD_CUT = 'You are sending too fast: disconnected.';
export const BANNED = 'You are banned from this room.';

interface Present extends RoomMember {
  link: Link;
  /** A member gateway: room frames (x-tlsim-room/1), not lines. */
  frames: boolean;
  joinLine: string;
  joinSeq: number;
  joinedAt: number;
  /** Its lines' rate (past it: cut) and its markers (past their rate, or a second one of a message: dropped). */
  lines: TokenBucket;
  marks: MemberMarks;
  /** Lines given to the link and not yet written: a member that does not read is cut past MAX_UNWRITTEN. */
  unwritten: number;
  /** Being cut: what it still sends is not heard. */
  cut: boolean;
}

/**
 * One message said, as the room's log keeps it for members that resume by id: `text` is its lines as members read
 * them (control characters deleted), LF between; `echo` the id its sender (a member gateway) gave it, echoed to that
 * member only, and a resent one is not said twice. `seq` orders it among joins (this run's count).
 */
interface Said extends RoomLogEntry {
  seq: number;
}

/** Lines waiting for a member that does not read before it is cut (every buffer has a limit). */
export const MAX_UNWRITTEN = 2_000;

/** `HH:MM` in UTC, as `date -u +%R`. */
function clock(d: Date): string {
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

export class RoomHost extends TypedEmitter<RoomHostEvents> {
  private readonly inbound: InboundListeners;
  private readonly present = new Map<Link, Present>();
  private readonly said: Said[] = [];
  /** Ids of this run: an earlier run's ids (a kept log's) must not match a new one's. */
  private readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  private nextN = 1;
  private closed = false;

  constructor(private readonly o: RoomHostOptions) {
    super((err, event) => o.log.error({ err, event }, 'room host listener failed'));
    this.inbound = new InboundListeners({
      tls: o.tls,
      log: o.log,
      maxPendingHandshakes: 64,
      maxConcurrentHandshakes: 4,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? 30_000,
      firstByteTimeoutMs: 10_000,
      maxMessageBytes: o.maxMessageBytes,
      // Lines for a reference member; room frames for a member gateway that offers them.
      gatewayAlpns: o.extension === false ? [] : ROOM_ALPNS,
      onLink: (link) => this.admit(link),
      onRejected: ({ reason }) => o.log.debug({ reason }, 'room member refused at the handshake'),
    });
    for (const e of o.logStore?.load(this.logSize()) ?? []) this.said.push({ ...e, seq: ++this.seq });
  }

  private logSize(): number {
    return Math.max(this.o.logSize ?? 200, this.o.historyLines ?? 20);
  }

  async listen(): Promise<void> {
    await this.inbound.listen(this.o.listen);
  }

  addresses(): PeerAddress[] {
    return this.inbound.addresses();
  }

  members(): RoomMember[] {
    return [...this.present.values()].map(({ name, alias, fingerprint }) => ({ name, alias, fingerprint }));
  }

  /** Cuts a member's every connection (a ban), telling it why. */
  kick(fingerprint: string, text: string): void {
    for (const m of this.present.values()) if (m.fingerprint === fingerprint) this.cut(m, text);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inbound.close();
    await Promise.all([...this.present.keys()].map((l) => l.close()));
    this.present.clear();
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** fp2alias's part: who this is, or the question (for a member gateway: its join frame); then the join. */
  private admit(link: Link): void {
    const fp = link.fingerprint;
    const frames = link.protocol === 'room/1';
    const refuse = (text: string, why: string): void => {
      this.o.log.info({ member: fp.slice(0, 12), why }, 'room member refused');
      void this.tell(link, text).finally(() => link.close());
    };
    link.start();
    if (this.closed) return void link.destroy();
    if (this.o.book.banned(fp)) return refuse(BANNED, 'banned');
    if (this.present.size >= (this.o.maxMembers ?? 50)) return refuse(ROOM_FULL, 'full');
    const known = this.o.book.aliasOf(fp);
    if (known && !frames) return this.join(link, known);
    if (!known && this.o.policy() !== 'open') return refuse(NOT_RECOGNIZED, 'not a member');
    const timer = setTimeout(() => refuse(NOT_RECOGNIZED, 'no alias given'), this.o.aliasTimeoutMs ?? 60_000);
    timer.unref();
    link.on('close', () => clearTimeout(timer));
    const answered = (answer: string, req?: RoomJoinRecord): void => {
      clearTimeout(timer);
      if (known) return this.join(link, known, req);
      // fp2alias reads `%32[a-z0-9]`: the alias is what starts the answer.
      const alias = /^[a-z0-9]{0,32}/.exec(answer)![0];
      if (!ALIAS_PATTERN.test(alias)) return refuse(NOT_RECOGNIZED, 'no valid alias');
      const holder = this.o.book.holderOf(alias);
      if (holder && holder !== fp) return refuse(`The '${alias}' alias is taken already.`, 'alias taken');
      this.o.book.remember(fp, alias);
      this.join(link, alias, req);
    };
    if (frames) {
      const onJoin = (r: RoomRecord): void => {
        if (r.type !== 'room-join') return;
        link.off('room', onJoin);
        answered(r.alias, r);
      };
      link.on('room', onJoin);
      return;
    }
    const onFirst = (m: { text: string }): void => {
      link.off('message', onFirst);
      answered(m.text);
    };
    link.on('message', onFirst);
    void link.send(ALIAS_QUESTION).catch(() => {});
  }

  /** One line of the room's to a member that is about to be cut: a line, or a member gateway's refusal frame. */
  private tell(link: Link, text: string): Promise<unknown> {
    return link.protocol === 'room/1' ? link.sendRecord({ type: 'room-welcome', refused: text }) : link.send(text);
  }

  private join(link: Link, alias: string, req?: RoomJoinRecord): void {
    if (this.closed || !link.isOpen) return;
    const name = `${alias}[${this.nextN++}]`;
    const at = this.now();
    const joinLine = `${clock(at)} * ${name} joins`;
    const frames = link.protocol === 'room/1';
    const m: Present = {
      name, alias, fingerprint: link.fingerprint, link, frames, joinLine, joinSeq: ++this.seq, joinedAt: at.getTime(),
      lines: new TokenBucket(this.o.floodBurst ?? 20, this.o.floodPerSecond ?? 2), marks: new MemberMarks(this.o.marks), unwritten: 0, cut: false,
    };
    if (frames) this.welcomeFrames(m, req);
    else this.welcomeLines(m);
    this.broadcast(m, { line: joinLine, record: { type: 'room-presence', name, alias, present: true, at: m.joinedAt } });
    this.present.set(link, m);
    this.o.log.info({ member: name, frames }, 'room member joined');
    this.emit('joins', this.view(m));
    link.on('message', (msg) => {
      for (const raw of splitRoomLines(msg.text)) this.heard(m, raw);
    });
    link.on('room', (r) => {
      if (r.type === 'room-say') this.heard(m, r.text, r.id);
      else if (r.type === 'room-mark') this.marked(m, r);
    });
    link.on('close', (info) => {
      if (!this.present.delete(link)) return;
      const left = this.now();
      this.broadcast(undefined, { line: `${clock(left)} * ${name} quits`, record: { type: 'room-presence', name, alias, present: false, at: left.getTime() } });
      const reason = info.error?.message ?? info.reason;
      this.o.log.info({ member: name, reason }, 'room member left');
      this.emit('quits', this.view(m), String(reason));
    });
  }

  /** A reference member: its own join line first (it learns its NAME from it), then who is here, then the last lines said. */
  private welcomeLines(m: Present): void {
    this.write(m, m.joinLine);
    const lines = this.said.flatMap((e) => e.text.split('\n').map((t) => ({ seq: e.seq, line: `${clock(new Date(e.at))} ${e.name}: ${t}` })));
    const replay = [
      ...[...this.present.values()].map((p) => ({ seq: p.joinSeq, line: p.joinLine })),
      ...lines.slice(-(this.o.historyLines ?? 20)),
    ].sort((a, b) => a.seq - b.seq);
    for (const r of replay) this.write(m, r.line);
  }

  /**
   * A member gateway: who is here, what it asked for (what followed its last seen id on a reconnect, the whole log
   * when that id is gone; else the last N messages), then its welcome: a MUC sends the subject after the history.
   */
  private welcomeFrames(m: Present, req: RoomJoinRecord | undefined): void {
    for (const p of this.present.values()) this.write(m, { type: 'room-presence', name: p.name, alias: p.alias, present: true, at: p.joinedAt });
    const last = Math.max(0, this.said.length - Math.min(MAX_ROOM_HISTORY, req?.history ?? this.o.historyLines ?? 20));
    // After an id: what followed it (all of the log when it is gone), and the last `history` too when asked.
    let from = last;
    if (req?.after !== undefined) {
      const i = this.said.findIndex((e) => e.id === req.after);
      from = req.history !== undefined ? Math.min(i + 1, last) : i + 1;
    }
    for (const e of this.said.slice(from)) this.write(m, this.saidRecord(e, m, true));
    this.write(m, { type: 'room-welcome', name: m.name, alias: m.alias });
  }

  private saidRecord(e: Said, to: Present, history: boolean): RoomRecord {
    const echo = e.echo !== undefined && e.fingerprint === to.fingerprint ? e.echo : undefined;
    return { type: 'room-said', id: e.id, name: e.name, alias: e.alias, text: e.text, at: e.at, ...(echo !== undefined && { echo }), ...(history && { history }) };
  }

  /** What a member said: a line (reference member) or a message of one or more lines (member gateway, with its id). */
  private heard(m: Present, raw: string, echo?: string): void {
    if (m.cut || !this.present.has(m.link)) return;
    // A member gateway sends again what it had not seen echoed when its connection dropped: said once.
    if (echo !== undefined && this.said.some((e) => e.echo === echo && e.fingerprint === m.fingerprint)) return;
    const lines = raw
      .split('\n')
      .map((l) => roomVisible(l.endsWith('\r') ? l.slice(0, -1) : l))
      .filter((l, _, all) => l !== '' || all.length === 1);
    for (let i = 0; i < lines.length; i++) if (!m.lines.take()) return this.cut(m, FLOOD_CUT);
    const text = lines.join('\n');
    const at = this.now();
    const seq = ++this.seq;
    const e: Said = { seq, id: `${this.epoch}-${seq}`, at: at.getTime(), name: m.name, alias: m.alias, fingerprint: m.fingerprint, text, ...(echo !== undefined && { echo }) };
    this.said.push(e);
    if (this.said.length > this.logSize()) this.said.shift();
    this.keep(e);
    for (const p of this.present.values()) {
      if (p.frames) this.write(p, this.saidRecord(e, p, false));
      // The room never echoes a member's own line to a reference member.
      else if (p !== m) for (const l of lines) this.write(p, `${clock(at)} ${m.name}: ${l}`);
    }
    this.emit('line', this.view(m), text);
  }

  /** The message into the kept log; a failure to keep it is logged, and the room goes on (it was said). */
  private keep({ seq: _, ...e }: Said): void {
    try {
      this.o.logStore?.append(e, this.logSize());
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'room message not kept in the log');
    }
  }

  /**
   * A member gateway's chat marker of a message the room keeps: to the other member gateways, from that member;
   * never to reference members (they read only lines) nor back to it. Once per member and message, within its rate.
   */
  private marked(m: Present, r: RoomMarkRecord): void {
    if (m.cut || !this.present.has(m.link) || !this.said.some((e) => e.id === r.id) || !m.marks.accept(r.id)) return;
    const record: RoomRecord = { type: 'room-marked', id: r.id, marker: r.marker, name: m.name, alias: m.alias };
    for (const p of this.present.values()) if (p.frames && p !== m) this.write(p, record);
  }

  private cut(m: Present, text: string): void {
    if (m.cut) return;
    m.cut = true;
    this.o.log.info({ member: m.name, why: text }, 'room member cut');
    void this.tell(m.link, text).finally(() => m.link.close());
  }

  /** To every member but `except`: the line to reference members, the record to member gateways. */
  private broadcast(except: Present | undefined, what: { line: string; record: RoomRecord }): void {
    for (const p of this.present.values()) if (p !== except) this.write(p, p.frames ? what.record : what.line);
  }

  private write(m: Present, what: string | RoomRecord): void {
    if (m.unwritten >= MAX_UNWRITTEN) {
      this.o.log.info({ member: m.name }, 'room member does not read: cut');
      m.link.destroy();
      return;
    }
    m.unwritten++;
    void (typeof what === 'string' ? m.link.send(what) : m.link.sendRecord(what)).then(
      () => m.unwritten--,
      () => m.unwritten--,
    );
  }

  private view(m: Present): RoomMember {
    return { name: m.name, alias: m.alias, fingerprint: m.fingerprint };
  }
}
