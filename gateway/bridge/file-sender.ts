// Files our user sends to gateway peers (wire/file-frames.ts): queued in the store until the peer has them all,
// offered on every link, sent in chunks from the offset the receiver names, within a window of bytes it has not
// confirmed yet, so a file takes a bounded share of the link (and the link writer sends chat ahead of chunks).
import { randomBytes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { ProgressLog } from './progress.js';
import type { Logger } from 'pino';
import type { UploadStore } from '../files/upload-store.js';
import type { FileSend, Store } from '../store/index.js';
import { short } from './names.js';
import { MAX_CHUNK_BYTES, type FileRecord, type FileReplyRecord } from './peer-protocol.js';

/** Bytes sent beyond what the receiver confirmed: the most one transfer has on the link at a time. */
export const WINDOW_BYTES = 8 * MAX_CHUNK_BYTES;
/** No reply for this long: offer again (a lost frame, or a gateway that does not know files yet). */
export const STALL_MS = 30_000;

export interface FileSenderOptions {
  store: Pick<Store, 'uploads'>;
  accountId: number;
  uploads: UploadStore;
  log: Logger;
  send(fp: string, record: FileRecord): Promise<boolean>;
  isOnline(fp: string): boolean;
  /** A line from the gateway contact to the user. */
  notify(text: string): void;
  nameOf(fp: string): string;
}

interface Sending {
  fp: string;
  tid: string;
  token: string;
  name: string;
  size: number;
  /** The receiver's answer to our offer came: chunks go from `sent`. */
  started: boolean;
  sent: number;
  confirmed: number;
  fh: FileHandle | undefined;
  pumping: boolean;
  timer: NodeJS.Timeout | undefined;
  progress: ProgressLog;
}

const key = (fp: string, tid: string): string => `${fp} ${tid}`;

/** Offers in a row without any reply before the user is told (a gateway from before files skips them). */
const UNANSWERED_TELL = 2;

export class FileSender {
  private readonly active = new Map<string, Sending>();
  /** Offers not answered in a row, by transfer (bounded by the transfers in the store). */
  private readonly unanswered = new Map<string, number>();

  constructor(private readonly o: FileSenderOptions) {}

  /** Queues a stored file for a gateway peer and offers it now if the peer is online. */
  queue(fp: string, token: string): void {
    const tid = randomBytes(12).toString('base64url');
    this.o.store.uploads.queueSend(this.o.accountId, fp, tid, token);
    if (this.o.isOnline(fp)) this.offer({ fingerprint: fp, transferId: tid, token });
  }

  /** The peer's gateway link is up: every file queued for it is offered (again). */
  peerUp(fp: string): void {
    for (const s of this.o.store.uploads.sends(this.o.accountId, fp)) if (!this.active.has(key(fp, s.transferId))) this.offer(s);
  }

  /** The peer is gone: transfers stop here and resume from the receiver's offset on the next link. */
  peerDown(fp: string): void {
    for (const [k, s] of this.active) if (s.fp === fp) this.forget(k, s);
  }

  stop(): void {
    for (const [k, s] of this.active) this.forget(k, s);
  }

  reply(fp: string, r: FileReplyRecord): void {
    const k = key(fp, r.tid);
    const s = this.active.get(k);
    if (!s) return;
    this.unanswered.delete(k);
    this.watch(s);
    if (r.done || r.error !== undefined) {
      this.o.store.uploads.sendDone(this.o.accountId, fp, r.tid);
      this.forget(k, s);
      this.unanswered.delete(k);
      if (r.error !== undefined) this.o.notify(`"${s.name}" was not delivered to ${this.o.nameOf(fp)}: ${r.error}`);
      else s.progress.end(`file delivered to ${this.o.nameOf(fp)} (${s.size} bytes)`);
      return;
    }
    if (r.offset === undefined || r.offset > s.size) return;
    if (r.resume || !s.started) {
      s.started = true;
      s.sent = r.offset;
      s.confirmed = r.offset;
    } else s.confirmed = Math.max(s.confirmed, r.offset);
    s.progress.update(s.confirmed);
    void this.pump(k, s);
  }

  private offer(q: FileSend): void {
    const u = this.o.uploads.stored(q.token);
    if (!u?.sha256) {
      this.o.store.uploads.sendDone(this.o.accountId, q.fingerprint, q.transferId);
      this.o.notify(`A file for ${this.o.nameOf(q.fingerprint)} expired before it could be delivered.`);
      return;
    }
    const s: Sending = { fp: q.fingerprint, tid: q.transferId, token: q.token, name: u.name, size: u.size, started: false, sent: 0, confirmed: 0, fh: undefined, pumping: false, timer: undefined,
      progress: new ProgressLog(this.o.log, `sending "${u.name}" to ${this.o.nameOf(q.fingerprint)}`, u.size) };
    this.active.set(key(s.fp, s.tid), s);
    this.watch(s);
    this.o.send(s.fp, { type: 'file-offer', tid: s.tid, name: u.name, size: u.size, contentType: u.contentType, sha256: u.sha256 }).catch(() => undefined);
  }

  /** Restarts the stall timer: without a reply for STALL_MS the file is offered again (the receiver says from where). */
  private watch(s: Sending): void {
    clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      const k = key(s.fp, s.tid);
      if (this.active.get(k) !== s) return;
      this.o.log.info({ peer: short(s.fp), sent: s.sent, confirmed: s.confirmed }, 'file transfer stalled; offering again');
      this.forget(k, s);
      if (!s.started) {
        const n = (this.unanswered.get(k) ?? 0) + 1;
        this.unanswered.set(k, n);
        if (n === UNANSWERED_TELL) {
          this.o.notify(
            `${this.o.nameOf(s.fp)}'s gateway does not answer the offer of "${s.name}" (an older tlsim-gateway, without files?). ` +
              'It stays queued and is offered again until it expires.',
          );
        }
      }
      if (this.o.isOnline(s.fp)) this.offer({ fingerprint: s.fp, transferId: s.tid, token: s.token });
    }, STALL_MS);
    s.timer.unref();
  }

  private async pump(k: string, s: Sending): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      if (!s.fh) {
        const fh = await open(this.o.uploads.pathOf(s.token), 'r');
        // Forgotten while opening (the link went down): nobody else would close it.
        if (this.active.get(k) !== s) return void (await fh.close());
        s.fh = fh;
      }
      while (this.active.get(k) === s && s.sent < s.size && s.sent - s.confirmed < WINDOW_BYTES) {
        const at = s.sent;
        const n = Math.min(MAX_CHUNK_BYTES, s.size - at);
        const data = Buffer.allocUnsafe(n);
        const { bytesRead } = await s.fh.read(data, 0, n, at);
        if (bytesRead !== n) throw new Error(`the file is shorter than its ${s.size} bytes`);
        if (this.active.get(k) !== s) break;
        s.sent = at + n;
        // Not awaited: the receiver's replies move the window; a link that ends takes the transfer down with it.
        this.o.send(s.fp, { type: 'file-chunk', tid: s.tid, at, data }).catch(() => undefined);
      }
    } catch (err) {
      this.o.log.error({ err, peer: short(s.fp) }, 'reading a file to send failed');
      this.o.store.uploads.sendDone(this.o.accountId, s.fp, s.tid);
      this.forget(k, s);
      this.o.notify(`"${s.name}" could not be sent to ${this.o.nameOf(s.fp)}: it could not be read.`);
    } finally {
      s.pumping = false;
    }
  }

  private forget(k: string, s: Sending): void {
    clearTimeout(s.timer);
    if (this.active.get(k) === s) this.active.delete(k);
    const fh = s.fh;
    s.fh = undefined;
    // A read in progress finishes on its own handle first.
    if (fh) setTimeout(() => void fh.close().catch(() => undefined), 1_000).unref();
  }
}
