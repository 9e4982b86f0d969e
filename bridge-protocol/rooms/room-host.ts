// Hosting a chat room that reference members join exactly as they join TLSd's sample chat (docs/rooms.md):
// a TLS listener of the room's own identity, fp2alias's alias question for a fingerprint it does not know
// (policy "open"; "members" refuses strangers as fp2alias without -a does), names `alias[n]`, and lines as
// tlsd-chat.sh writes them: `HH:MM NAME: text` to every other member, `HH:MM * NAME joins|quits`.
// Beyond the reference: a newcomer reads who is there and the last lines said (history), a member who
// floods is cut (not the room), and the room has a size cap. The gateway's own users join as members too,
// through a RoomLink, so every client sees one room.
import { TypedEmitter } from '../events.js';
import type { Link } from '../link.js';
import type { Logger } from '../logger.js';
import { InboundListeners } from '../peers/listener.js';
import type { PeerAddress } from '../peers/dial.js';
import type { TlsContext } from '../tls-context.js';
import { ALIAS_PATTERN, ALIAS_QUESTION, NOT_RECOGNIZED, roomVisible, splitRoomLines } from '../wire/room-lines.js';

export type RoomPolicy = 'open' | 'members';

/** The room's memory of its members, per fingerprint (kept by the owner: the gateway's store). */
export interface RoomBook {
  aliasOf(fingerprint: string): string | undefined;
  /** Who holds an alias, if anyone. */
  holderOf(alias: string): string | undefined;
  remember(fingerprint: string, alias: string): void;
  banned(fingerprint: string): boolean;
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
  /** Lines a member may send at once, and refilled per second (default 20 and 2). */
  floodBurst?: number;
  floodPerSecond?: number;
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
  joinLine: string;
  joinSeq: number;
  tokens: number;
  refilledAt: number;
  /** Lines given to the link and not yet written: a member that does not read is cut past MAX_UNWRITTEN. */
  unwritten: number;
  /** Being cut: what it still sends is not heard. */
  cut: boolean;
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
  private readonly said: { seq: number; line: string }[] = [];
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
      // A room is a reference program: plain lines, nothing negotiated.
      gatewayAlpns: [],
      onLink: (link) => this.admit(link),
      onRejected: ({ reason }) => o.log.debug({ reason }, 'room member refused at the handshake'),
    });
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

  /** fp2alias's part: who this is, or the question; then the join. */
  private admit(link: Link): void {
    const fp = link.fingerprint;
    const refuse = (text: string, why: string): void => {
      this.o.log.info({ member: fp.slice(0, 12), why }, 'room member refused');
      void link.send(text).finally(() => link.close());
    };
    link.start();
    if (this.closed) return void link.destroy();
    if (this.o.book.banned(fp)) return refuse(BANNED, 'banned');
    if (this.present.size >= (this.o.maxMembers ?? 50)) return refuse(ROOM_FULL, 'full');
    const known = this.o.book.aliasOf(fp);
    if (known) return this.join(link, known);
    if (this.o.policy() !== 'open') return refuse(NOT_RECOGNIZED, 'not a member');
    const timer = setTimeout(() => refuse(NOT_RECOGNIZED, 'no alias given'), this.o.aliasTimeoutMs ?? 60_000);
    timer.unref();
    link.on('close', () => clearTimeout(timer));
    const onFirst = (m: { text: string }): void => {
      link.off('message', onFirst);
      clearTimeout(timer);
      // fp2alias reads `%32[a-z0-9]`: the alias is what starts the answer.
      const alias = /^[a-z0-9]{0,32}/.exec(m.text)![0];
      if (!ALIAS_PATTERN.test(alias)) return refuse(NOT_RECOGNIZED, 'no valid alias');
      const holder = this.o.book.holderOf(alias);
      if (holder && holder !== fp) return refuse(`The '${alias}' alias is taken already.`, 'alias taken');
      this.o.book.remember(fp, alias);
      this.join(link, alias);
    };
    link.on('message', onFirst);
    void link.send(ALIAS_QUESTION).catch(() => {});
  }

  private join(link: Link, alias: string): void {
    if (this.closed || !link.isOpen) return;
    const name = `${alias}[${this.nextN++}]`;
    const joinLine = `${clock(this.now())} * ${name} joins`;
    const m: Present = { name, alias, fingerprint: link.fingerprint, link, joinLine, joinSeq: ++this.seq, tokens: this.o.floodBurst ?? 20, refilledAt: Date.now(), unwritten: 0, cut: false };
    // Its own join line first (a member learns its NAME from it), then who is here, then the last lines said.
    this.write(m, joinLine);
    const replay = [
      ...[...this.present.values()].map((p) => ({ seq: p.joinSeq, line: p.joinLine })),
      ...this.said,
    ].sort((a, b) => a.seq - b.seq);
    for (const r of replay) this.write(m, r.line);
    this.broadcast(joinLine, m);
    this.present.set(link, m);
    this.o.log.info({ member: name }, 'room member joined');
    this.emit('joins', this.view(m));
    link.on('message', (msg) => {
      for (const raw of splitRoomLines(msg.text)) this.heard(m, raw);
    });
    link.on('close', (info) => {
      if (!this.present.delete(link)) return;
      this.broadcast(`${clock(this.now())} * ${name} quits`);
      const reason = info.error?.message ?? info.reason;
      this.o.log.info({ member: name, reason }, 'room member left');
      this.emit('quits', this.view(m), String(reason));
    });
  }

  private heard(m: Present, raw: string): void {
    if (m.cut || !this.present.has(m.link)) return;
    if (!this.take(m)) return this.cut(m, FLOOD_CUT);
    const text = roomVisible(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    const line = `${clock(this.now())} ${m.name}: ${text}`;
    this.said.push({ seq: ++this.seq, line });
    if (this.said.length > (this.o.historyLines ?? 20)) this.said.shift();
    this.broadcast(line, m);
    this.emit('line', this.view(m), text);
  }

  /** A token for one line; false when the member has spent its burst faster than the refill. */
  private take(m: Present): boolean {
    const rate = this.o.floodPerSecond ?? 2;
    const burst = this.o.floodBurst ?? 20;
    const t = Date.now();
    m.tokens = Math.min(burst, m.tokens + ((t - m.refilledAt) / 1000) * rate);
    m.refilledAt = t;
    if (m.tokens < 1) return false;
    m.tokens -= 1;
    return true;
  }

  private cut(m: Present, text: string): void {
    if (m.cut) return;
    m.cut = true;
    this.o.log.info({ member: m.name, why: text }, 'room member cut');
    void m.link.send(text).finally(() => m.link.close());
  }

  /** To every member but `except` (the room never echoes a member's own line). */
  private broadcast(line: string, except?: Present): void {
    for (const p of this.present.values()) if (p !== except) this.write(p, line);
  }

  private write(m: Present, line: string): void {
    if (m.unwritten >= MAX_UNWRITTEN) {
      this.o.log.info({ member: m.name }, 'room member does not read: cut');
      m.link.destroy();
      return;
    }
    m.unwritten++;
    void m.link.send(line).then(
      () => m.unwritten--,
      () => m.unwritten--,
    );
  }

  private view(m: Present): RoomMember {
    return { name: m.name, alias: m.alias, fingerprint: m.fingerprint };
  }
}
