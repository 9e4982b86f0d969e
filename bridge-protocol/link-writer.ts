// The writing half of a link: messages (and gateway frames) in order, ONE TLS record each on a link of lines; on a
// link of frames (self-delimiting) the records waiting when a write starts go out together, in one write. Between
// gateways with acknowledgements (wire/link-control.ts) a message is done only once the peer acknowledged it, and
// our acks and END go out here.
import type { TLSSocket } from 'node:tls';
import { LinkClosedError } from './errors.js';
import { ackBytes, countLf, END_BYTES } from './wire/link-control.js';
import { encodeMessage } from './wire/line-codec.js';
import type { FrameRecord, LinkRecord } from './wire/link-frames.js';
import { isFileRecord } from './wire/file-frames.js';

/**
 * A message (or marker) given to send and not known to be delivered: an owner may send it on another link.
 * A chat state is never one: it is dropped with its link.
 */
export interface UnfinishedSend {
  /** The message's text ('' for a marker). */
  text: string;
  record: LinkRecord;
  /** `delivered` false: the link it went to cannot carry it (a marker to a peer without frames), it was dropped. */
  resolve: (delivered?: boolean) => void;
  reject: (err: Error) => void;
}

/** How a link writes a record: its bytes, or undefined when this link cannot carry it (then it is dropped). */
export type RecordEncoder = (record: FrameRecord) => Buffer | undefined;

/** Plain lines (a reference peer, a gateway before version 3): a message's text, and nothing else. */
export const plainEncoder: RecordEncoder = (r) => (r.type === 'message' ? encodeMessage(r.text) : undefined);

interface MessageWrite extends Omit<UnfinishedSend, 'record'> {
  kind: 'message';
  record: FrameRecord;
  bytes: Buffer;
  /** LFs in bytes not acknowledged yet. */
  lfs: number;
}

/**
 * How long the oldest written message may wait for the peer's acknowledgement before the link is
 * taken for dead (a Tor circuit that died without a word): it is cut, and what was not acknowledged
 * goes out again on the next link. Generous: Tor round trips take seconds under load.
 */
export const ACK_TIMEOUT_MS = 90_000;

/** A message, or our acknowledgements (all owed when it is written), or our END. */
type Outgoing = MessageWrite | { kind: 'ack' } | { kind: 'end' };

/**
 * At most this much is joined into one write on a link of frames (about four TLS records of 16 KiB): what waited
 * while the previous write was in progress goes out in one encryption pass and one system call instead of one
 * each (a relaying gateway spent 6-7 % of its CPU writing one record per message, bench/README.md).
 */
export const MAX_JOINED_BYTES = 64 * 1024;

export class LinkWriter {
  /** Writes waiting for the socket: one at a time, so each is its own TLS record. */
  private outgoing: Outgoing[] = [];
  /** The write handed to the socket that has not completed yet (several records when joined). */
  private inFlight: Outgoing[] | undefined;
  /** Written, waiting for the peer's acknowledgements (with acks only), oldest first. */
  private unacked: MessageWrite[] = [];
  /** Acknowledgements received beyond what was waiting for them (a write callback may come after its ack). */
  private ackCredit = 0;
  /** Acknowledgements we owe the peer for what we read. */
  private acksOwed = 0;
  /** An ack write is scheduled for the end of this loop turn, or waits in `outgoing`. */
  private ackPending = false;
  /** Our END is queued (or written). */
  endQueued = false;
  /** Our END is written: no message follows it. */
  endSent = false;
  /** failAll ran: the link is down. */
  private failed = false;
  /** Called once nothing is queued or in flight (close() and the peer's end wait for it). */
  private onFlushed: (() => void) | undefined;
  /** Runs while messages wait for acknowledgements; restarted by each acknowledgement. */
  private ackTimer: NodeJS.Timeout | undefined;
  /**
   * Runs right before our acknowledgements go out: the owner makes what it read durable (one commit). A throw
   * cuts the link with that error and nothing is acknowledged, so the peer keeps it and sends it again.
   */
  beforeAck: () => void = () => {};

  constructor(
    private readonly socket: TLSSocket,
    /** The peer acknowledges what it reads (a gateway/2 link). */
    private readonly acks: boolean,
    /** For error messages: whom we write to. */
    private readonly peer: string,
    /** Called when a write completed or acks settled: the link may be ready to end. */
    private readonly onProgress: () => void,
    private readonly encode: RecordEncoder = plainEncoder,
    /**
     * The records are frames (self-delimiting, wire/link-frames.ts): several may share one write. Never on a
     * link of lines, where a reference receiver shows each record it reads as one message.
     */
    private readonly join = false,
  ) {}

  /** Nothing queued, in flight, owed or waiting for an acknowledgement. */
  get settled(): boolean {
    return !this.inFlight && this.outgoing.length === 0 && this.unacked.length === 0 && !this.ackPending;
  }

  /**
   * Resolves once the message is written to the TLS socket (handed to the kernel) or, with acks, once the
   * peer has read it (which we learn by reading: the link must be started). Sends may be issued without
   * waiting for each other: they go out in order, ONE TLS record each, because a reference receiver shows
   * each record it reads as one message (PROTOCOL.md) and our decoder groups the same way. (Several
   * socket.write() calls while a TLS write is in progress would be joined by the stream's writev into one
   * record: one message "a\nb" instead of "a" and "b".) So the next write is made in the previous one's
   * write callback: no loop turn of ours between messages beyond that callback.
   */
  send(text: string): Promise<void> {
    return this.sendRecord({ type: 'message', text }).then(() => undefined);
  }

  /**
   * As send(), for any record: resolves true once delivered, false at once when this link cannot carry it (it
   * is dropped: never a marker or chat state as a line of text).
   */
  sendRecord(record: FrameRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const bytes = this.encode(record);
      if (!bytes) return resolve(false);
      const text = record.type === 'message' ? record.text : '';
      const w: MessageWrite = { kind: 'message', text, record, bytes, lfs: countLf(bytes), resolve: (d = true) => resolve(d), reject };
      // Chat goes ahead of file chunks waiting here (wire/file-frames.ts): a file never holds up a message.
      const firstChunk = record.type === 'file-chunk' ? -1 : this.outgoing.findIndex((o) => o.kind === 'message' && o.record.type === 'file-chunk');
      if (firstChunk < 0) this.outgoing.push(w);
      else this.outgoing.splice(firstChunk, 0, w);
      if (!this.inFlight) this.writeNext();
    });
  }

  /** We read `lfs` LFs: acknowledged in one record at the end of this loop turn, however many came. */
  owe(lfs: number): void {
    this.acksOwed += lfs;
    if (this.acksOwed === 0 || this.ackPending) return;
    this.ackPending = true;
    setImmediate(() => {
      // The link went down meanwhile (the peer's FIN): its socket may be open still, but nothing more goes out.
      if (this.failed || this.socket.destroyed || this.socket.writableEnded) return;
      try {
        this.beforeAck();
      } catch (err) {
        this.socket.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      // Ahead of queued messages: the peer's sends wait for it, and order between the two does not matter.
      this.outgoing.unshift({ kind: 'ack' });
      if (!this.inFlight) this.writeNext();
    });
  }

  acknowledged(count: number): void {
    this.ackCredit += count;
    this.settleAcks();
    // Only the write in progress may be acknowledged ahead of its callback; more is a broken peer.
    let inFlightLfs = 0;
    for (const w of this.inFlight ?? []) if (w.kind === 'message') inFlightLfs += w.lfs;
    if (this.ackCredit > inFlightLfs) {
      this.socket.destroy(new Error(`${this.peer} acknowledged more than we sent`));
      return;
    }
    this.onProgress();
  }

  /** Our END, after every message queued so far; send() is refused from here on by the link. */
  end(): void {
    if (this.endQueued) return;
    this.endQueued = true;
    this.outgoing.push({ kind: 'end' });
    if (!this.inFlight) this.writeNext();
  }

  whenFlushed(fn: () => void): void {
    if (!this.inFlight && this.outgoing.length === 0) return fn();
    const before = this.onFlushed;
    this.onFlushed = () => {
      before?.();
      fn();
    };
  }

  /**
   * With acks: the messages written but not acknowledged, and those not written yet, taken from this writer
   * (their promises settle wherever they are sent next). Without acks: none (their writes fail at close, as
   * they always did: a write in progress may have reached the peer).
   */
  takeUnfinished(): UnfinishedSend[] {
    if (!this.acks) return [];
    const all = [...this.unacked, ...(this.inFlight ?? []), ...this.outgoing.splice(0)];
    this.unacked = [];
    this.inFlight = undefined;
    this.watchAcks();
    const taken: UnfinishedSend[] = [];
    for (const w of all) {
      if (w?.kind !== 'message') continue;
      // A chat state is of the moment: not sent again on another link. Nor is a file frame: the transfer offers
      // again on the next link, and goes on from what the receiver has.
      if (w.record.type === 'state' || isFileRecord(w.record)) w.resolve(false);
      // Only links with acks have unfinished sends, and a room connection has none: these are link records.
      else taken.push({ text: w.text, record: w.record as LinkRecord, resolve: w.resolve, reject: w.reject });
    }
    return taken;
  }

  /**
   * Every send not finished fails (the link is gone), with the error `makeError` makes (made only if one does: a
   * thousand links ending together should not capture a thousand stack traces for nothing). Nothing is written after.
   */
  failAll(makeError: () => Error): void {
    this.failed = true;
    const failed = [...this.unacked, ...(this.inFlight ?? []), ...this.outgoing.splice(0)];
    this.unacked = [];
    this.inFlight = undefined;
    this.watchAcks();
    let err: Error | undefined;
    for (const w of failed) if (w?.kind === 'message') w.reject((err ??= makeError()));
    const flushed = this.onFlushed;
    this.onFlushed = undefined;
    flushed?.();
  }

  private settleAcks(): void {
    const credit = this.ackCredit;
    while (this.ackCredit > 0 && this.unacked.length > 0) {
      const w = this.unacked[0]!;
      const n = Math.min(this.ackCredit, w.lfs);
      w.lfs -= n;
      this.ackCredit -= n;
      if (w.lfs > 0) break;
      this.unacked.shift();
      w.resolve(true);
    }
    // Restarted only by acknowledgements: a peer that reads nothing while we keep writing is still caught.
    this.watchAcks(this.ackCredit < credit);
  }

  /** Keeps the acknowledgement watchdog running exactly while messages wait; `progress` restarts it. */
  private watchAcks(progress = false): void {
    if (this.unacked.length === 0) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
      return;
    }
    if (this.ackTimer && !progress) return;
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (this.unacked.length > 0) this.socket.destroy(new Error(`no acknowledgement from ${this.peer} for ${ACK_TIMEOUT_MS / 1000} s`));
    }, ACK_TIMEOUT_MS);
    this.ackTimer.unref();
  }

  private writeNext(): void {
    const first = this.outgoing.shift();
    if (!first) {
      this.inFlight = undefined;
      const flushed = this.onFlushed;
      this.onFlushed = undefined;
      flushed?.();
      this.onProgress();
      return;
    }
    const batch: Outgoing[] = [first];
    const parts: Buffer[] = [this.take(first)];
    let size = parts[0]!.length;
    // Frames: what else waits goes along, up to MAX_JOINED_BYTES (never past our END: nothing follows it).
    while (this.join && first.kind !== 'end' && this.outgoing.length > 0 && this.outgoing[0]!.kind !== 'end') {
      const next = this.outgoing[0]!;
      const n = next.kind === 'message' ? next.bytes.length : this.acksOwed;
      if (size + n > MAX_JOINED_BYTES) break;
      this.outgoing.shift();
      batch.push(next);
      parts.push(this.take(next));
      size += n;
    }
    this.inFlight = batch;
    this.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), (err) => {
      if (this.inFlight !== batch) return; // already failed or taken at close
      if (err) {
        // With acks, the link's end decides what is sent again; otherwise this write and those behind it fail.
        if (this.acks) this.socket.destroy(err);
        else this.failAll(() => new LinkClosedError(`write to ${this.peer} failed: ${err.message}`, { cause: err }));
        return;
      }
      for (const w of batch) {
        if (w.kind === 'end') this.endSent = true;
        else if (w.kind === 'message') {
          if (this.acks) this.unacked.push(w);
          else w.resolve(true);
        }
      }
      if (this.acks) this.settleAcks();
      this.writeNext();
    });
  }

  /** The bytes of a record taken for writing; for our acknowledgements, all owed now (they count as written). */
  private take(w: Outgoing): Buffer {
    if (w.kind === 'message') return w.bytes;
    if (w.kind === 'end') return END_BYTES;
    const bytes = ackBytes(this.acksOwed);
    this.acksOwed = 0;
    this.ackPending = false;
    return bytes;
  }
}
