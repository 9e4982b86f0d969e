// Files gateway peers send our user (wire/file-frames.ts): an offer from a contact becomes a file of our store
// (quota and size limits as for uploads), chunks are appended in order, each confirmed, a gap asks the sender to
// go on from what is on disk; at the end the SHA-256 must match, and the user gets a message whose body is our
// own GET URL (the messages feature adds the XEP-0066 element).
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ProgressLog } from './progress.js';
import { UploadRefusedError } from '../files/contract.js';
import type { UploadStore } from '../files/upload-store.js';
import type { Store } from '../store/index.js';
import { short } from './names.js';
import { MAX_CHUNK_BYTES, type FileChunkRecord, type FileOfferRecord, type FileRecord } from './peer-protocol.js';

/** Bytes waiting for the disk for one transfer, at most (a sender keeps within its window; more is a broken one). */
const MAX_PENDING_BYTES = 64 * MAX_CHUNK_BYTES;

export interface FileReceiverOptions {
  store: Pick<Store, 'uploads' | 'contacts'>;
  accountId: number;
  uploads: UploadStore;
  log: Logger;
  send(fp: string, record: FileRecord): Promise<boolean>;
  /** The file is ours now: its URL goes to the user as a message from the peer (`tid` makes it arrive once). */
  deliver(fp: string, tid: string, url: string): void;
  /** How the user knows the peer (progress lines). */
  nameOf(fp: string): string;
}

interface Receiving {
  fp: string;
  tid: string;
  token: string;
  size: number;
  sha256: string;
  written: number;
  fh: FileHandle | undefined;
  /** Writes in order, one after the other. */
  chain: Promise<void>;
  pending: number;
  /** The offset a resume was asked from (once per gap). */
  askedAt: number;
  progress: ProgressLog;
}

const key = (fp: string, tid: string): string => `${fp} ${tid}`;

export class FileReceiver {
  private readonly active = new Map<string, Receiving>();

  constructor(private readonly o: FileReceiverOptions) {}

  record(fp: string, r: FileOfferRecord | FileChunkRecord): void {
    if (r.type === 'file-offer') void this.offer(fp, r).catch((err: unknown) => this.failed(fp, r.tid, err));
    else this.chunk(fp, r);
  }

  /** The link is gone: open files are closed; the next offer goes on from what is on disk. */
  peerDown(fp: string): void {
    for (const [k, st] of this.active) if (st.fp === fp) this.drop(k, st);
  }

  stop(): void {
    for (const [k, st] of this.active) this.drop(k, st);
  }

  private reply(fp: string, tid: string, r: { offset?: number; resume?: boolean; done?: boolean; error?: string }): void {
    this.o.send(fp, { type: 'file-reply', tid, ...r }).catch(() => undefined);
  }

  private async offer(fp: string, r: FileOfferRecord): Promise<void> {
    const { store, accountId: acct, uploads } = this.o;
    if (store.contacts.get(acct, fp)?.state !== 'contact') return this.reply(fp, r.tid, { error: 'files are taken from contacts only' });
    const k = key(fp, r.tid);
    const current = this.active.get(k);
    if (current) {
      // The sender offers again (a stall, a new link): it goes on from what is written once pending writes are done.
      await current.chain;
      current.askedAt = current.written;
      return this.reply(fp, r.tid, { offset: current.written, resume: true });
    }
    const known = store.uploads.receive(acct, fp, r.tid);
    const u = known && store.uploads.get(known.token);
    if (known && u?.state === 'stored') return this.reply(fp, r.tid, { done: true });
    let token: string;
    if (known && u) token = known.token;
    else {
      if (known) store.uploads.receiveDone(acct, fp, r.tid);
      try {
        token = uploads.beginReceive(acct, r.name, r.size, r.contentType);
      } catch (err) {
        if (err instanceof UploadRefusedError) return this.reply(fp, r.tid, { error: `the receiving gateway refused it: ${err.message}` });
        throw err;
      }
      store.uploads.addReceive(acct, { fingerprint: fp, transferId: r.tid, token, sha256: r.sha256 });
    }
    const written = await uploads.receivedBytes(token);
    const fh = await open(uploads.partPath(token), 'a', 0o600);
    const progress = new ProgressLog(this.o.log, `receiving "${r.name}" from ${this.o.nameOf(fp)}`, r.size);
    const st: Receiving = { fp, tid: r.tid, token, size: r.size, sha256: known?.sha256 ?? r.sha256, written, fh, chain: Promise.resolve(), pending: 0, askedAt: written, progress };
    this.active.set(k, st);
    this.o.log.info({ peer: short(fp), size: r.size, from: written }, written > 0 ? 'file transfer resumed' : 'file transfer started');
    if (written >= r.size) return this.finish(k, st);
    this.reply(fp, r.tid, { offset: written, resume: true });
  }

  private chunk(fp: string, r: FileChunkRecord): void {
    const k = key(fp, r.tid);
    const st = this.active.get(k);
    if (!st) return; // before its offer (a restart): the sender's stall timer offers again
    if (st.pending + r.data.length > MAX_PENDING_BYTES) {
      this.drop(k, st);
      return this.reply(fp, r.tid, { error: 'the sender does not keep to its window' });
    }
    st.pending += r.data.length;
    st.chain = st.chain.then(() => this.write(k, st, r)).catch((err: unknown) => {
      this.drop(k, st);
      this.failed(fp, r.tid, err);
    });
  }

  private async write(k: string, st: Receiving, r: FileChunkRecord): Promise<void> {
    st.pending -= r.data.length;
    if (this.active.get(k) !== st || !st.fh) return;
    if (r.at < st.written) return; // sent again after a resume: had already
    if (r.at > st.written) {
      // A gap (chunks lost in a link switch): once per gap, ask for the rest from here.
      if (st.askedAt !== st.written) {
        st.askedAt = st.written;
        this.reply(st.fp, st.tid, { offset: st.written, resume: true });
      }
      return;
    }
    if (st.written + r.data.length > st.size) {
      this.drop(k, st);
      await this.o.uploads.remove(st.token);
      this.o.store.uploads.receiveDone(this.o.accountId, st.fp, st.tid);
      return this.reply(st.fp, st.tid, { error: 'more bytes came than were offered' });
    }
    await st.fh.write(r.data, 0, r.data.length);
    st.written += r.data.length;
    st.progress.update(st.written);
    if (st.written === st.size) return this.finish(k, st);
    this.reply(st.fp, st.tid, { offset: st.written });
  }

  private async finish(k: string, st: Receiving): Promise<void> {
    if (this.active.get(k) === st) this.active.delete(k);
    const fh = st.fh;
    st.fh = undefined;
    await fh?.close().catch(() => undefined);
    const ok = await this.o.uploads.finishReceive(st.token, st.sha256);
    this.o.store.uploads.receiveDone(this.o.accountId, st.fp, st.tid);
    if (!ok) {
      await this.o.uploads.remove(st.token);
      this.o.log.warn({ peer: short(st.fp), size: st.size }, 'received file does not match its hash');
      return this.reply(st.fp, st.tid, { error: 'the bytes that arrived do not match the file\'s SHA-256' });
    }
    st.progress.end(`file received from ${this.o.nameOf(st.fp)} (${st.size} bytes)`);
    this.reply(st.fp, st.tid, { done: true });
    const url = this.o.uploads.url(st.token);
    if (url) this.o.deliver(st.fp, st.tid, url);
  }

  private drop(k: string, st: Receiving): void {
    if (this.active.get(k) === st) this.active.delete(k);
    const fh = st.fh;
    st.fh = undefined;
    void st.chain.finally(() => fh?.close().catch(() => undefined));
  }

  private failed(fp: string, tid: string, err: unknown): void {
    this.o.log.error({ err, peer: short(fp) }, 'receiving a file failed');
    this.reply(fp, tid, { error: 'the receiving gateway could not store it' });
  }
}
