// The gateway's files: XEP-0363 slots and their one PUT, stored files served by GET, files received from gateway
// peers, quotas per file and per account, and expiry. Metadata in the store (uploads table), bytes in
// <dataDir>/uploads/<token> (0600, in a 0700 directory); a file's name never reaches the disk.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { AccountId, Store, StoredUpload } from '../store/index.js';
import { ensurePrivateDir } from '../xmpp/secret-file.js';
import { UploadRefusedError, type AccountFiles, type IncomingUpload, type StoredFile, type UploadSlot } from './contract.js';

const MIB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a slot waits for its PUT. */
export const SLOT_TTL_MS = 30 * 60 * 1000;
/** Longest file name kept (UTF-8 bytes are checked by the table: 255 characters). */
const MAX_NAME_CHARS = 255;
const TOKEN = /^[A-Za-z0-9_-]{32}$/;
/** What a content type may be (RFC 9110 §8.3.1 token/token, parameters allowed), without CR/LF or quotes games. */
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=[A-Za-z0-9!#$&^_.+-]+)*$/;
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
export const UPLOAD_PATH = '/upload/';

export interface UploadLimits {
  maxFileBytes: number;
  quotaBytes: number;
  expiryMs: number;
}

export function uploadLimits(files: { max_file_mb: number; quota_mb: number; expiry_days: number }): UploadLimits {
  return { maxFileBytes: files.max_file_mb * MIB, quotaBytes: files.quota_mb * MIB, expiryMs: files.expiry_days * DAY_MS };
}

export interface UploadStoreOptions {
  store: Pick<Store, 'uploads'>;
  dataDir: string;
  limits: UploadLimits;
  log: Logger;
  now?: () => number;
}

/** The outcome of a PUT, as HTTP says it. */
export interface PutOutcome {
  status: number;
  text: string;
}

/**
 * Control characters (C0, DEL, C1) and the bidirectional controls (marks, embeddings, overrides, isolates): an
 * override such as U+202E shows "photo\u202Egpj.exe" as "photoexe.jpg", hiding what the file is.
 */
// eslint-disable-next-line no-control-regex
const UNSHOWN = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A file name as kept and shown: no path, no control characters, not empty, at most 255 characters. */
export function cleanFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const clean = [...base.replace(UNSHOWN, '').trim()].slice(0, MAX_NAME_CHARS).join('');
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

export function cleanContentType(type: string | undefined): string {
  const t = (type ?? '').trim();
  return t === '' ? DEFAULT_CONTENT_TYPE : CONTENT_TYPE.test(t) ? t : DEFAULT_CONTENT_TYPE;
}

export class UploadStore {
  readonly dir: string;
  private base: string | undefined;
  private readonly now: () => number;
  /** PUTs in progress, by token: a second PUT of the same slot while one runs is refused. */
  private readonly putting = new Set<string>();

  constructor(private readonly opts: UploadStoreOptions) {
    this.dir = join(opts.dataDir, 'uploads');
    this.now = opts.now ?? Date.now;
  }

  get limits(): UploadLimits {
    return this.opts.limits;
  }

  async open(): Promise<void> {
    await ensurePrivateDir(this.dir);
  }

  /** Where the files are served, e.g. https://127.0.0.1:5443; until set, no slot is handed out. */
  setBaseUrl(base: string | undefined): void {
    this.base = base;
  }

  /** The files of one account, as the XMPP side sees them. */
  forAccount(accountId: AccountId): AccountFiles {
    return {
      maxFileBytes: () => (this.base ? this.opts.limits.maxFileBytes : undefined),
      requestSlot: (name, size, type) => this.slot(accountId, name, size, type),
      fileForUrl: (url) => {
        const f = this.fileForUrl(url);
        return f && f.accountId === accountId ? f.file : undefined;
      },
      receive: (name, size, type) => this.receivePieces(accountId, name, size, type),
    };
  }

  /** A slot whose one PUT is fed piece by piece (in-band bytes from a client): the same checks as over HTTP. */
  private receivePieces(accountId: AccountId, name: string, size: number, contentType: string): IncomingUpload {
    const slot = this.slot(accountId, name, size, contentType);
    const token = slot.putUrl.slice(slot.putUrl.indexOf(UPLOAD_PATH) + UPLOAD_PATH.length).split('/')[0]!;
    const body = new PassThrough();
    const type = this.opts.store.uploads.get(token)!.contentType;
    const done = this.put(token, String(size), type, body);
    done.catch(() => undefined);
    return {
      write: (piece) => new Promise((resolve, reject) => body.write(piece, (err) => (err ? reject(err) : resolve()))),
      end: async () => {
        body.end();
        const outcome = await done;
        if (outcome.status === 201) return this.file(token);
        await this.remove(token);
        return undefined;
      },
      abort: () => {
        body.destroy();
        void done.catch(() => undefined).finally(() => this.remove(token));
      },
    };
  }

  /** Room for `size` more bytes for the account, or the UploadRefusedError that says why not. */
  checkRoom(accountId: AccountId, size: number): void {
    const { maxFileBytes, quotaBytes } = this.opts.limits;
    if (!Number.isSafeInteger(size) || size < 0) throw new UploadRefusedError('bad-request', 'the size must be a whole number of bytes');
    if (size > maxFileBytes) throw new UploadRefusedError('too-large', `the file is ${size} bytes; at most ${maxFileBytes} are accepted`, maxFileBytes);
    const used = this.opts.store.uploads.usedBytes(accountId);
    if (used + size > quotaBytes) {
      throw new UploadRefusedError('quota', `your files take ${used} of ${quotaBytes} bytes; this one (${size}) does not fit until older ones expire`);
    }
  }

  slot(accountId: AccountId, name: string, size: number, contentType: string): UploadSlot {
    const base = this.base;
    if (!base) throw new UploadRefusedError('unavailable', 'uploads are served by the status page listener, which is not running (web.enabled)');
    this.checkRoom(accountId, size);
    const token = randomBytes(24).toString('base64url');
    const clean = cleanFileName(name);
    this.opts.store.uploads.add({ token, accountId, name: clean, size, contentType: cleanContentType(contentType), state: 'slot', expiresAt: this.now() + SLOT_TTL_MS });
    const url = this.urlOf(token, clean, base);
    return { putUrl: url, getUrl: url, headers: [] };
  }

  /** A stored file's GET URL, or undefined while nothing serves files. */
  url(token: string): string | undefined {
    const u = this.opts.store.uploads.get(token);
    return u && this.base ? this.urlOf(token, u.name, this.base) : undefined;
  }

  private urlOf(token: string, name: string, base: string): string {
    return `${base}${UPLOAD_PATH}${token}/${encodeURIComponent(name)}`;
  }

  /** The stored file a URL of ours names (any account), if it is complete and not expired. */
  fileForUrl(url: string): { accountId: AccountId; file: StoredFile } | undefined {
    if (!this.base || !url.startsWith(this.base + UPLOAD_PATH)) return undefined;
    const token = url.slice(this.base.length + UPLOAD_PATH.length).split('/')[0] ?? '';
    const u = this.stored(token);
    return u && { accountId: u.accountId, file: this.asFile(u) };
  }

  /** The complete, unexpired file with this token. */
  stored(token: string): StoredUpload | undefined {
    if (!TOKEN.test(token)) return undefined;
    const u = this.opts.store.uploads.get(token);
    return u && u.state === 'stored' && u.expiresAt > this.now() ? u : undefined;
  }

  file(token: string): StoredFile | undefined {
    const u = this.stored(token);
    return u && this.asFile(u);
  }

  private asFile(u: StoredUpload): StoredFile {
    const url = this.base ? this.urlOf(u.token, u.name, this.base) : '';
    return { token: u.token, name: u.name, size: u.size, contentType: u.contentType, sha256: u.sha256 ?? '', path: this.pathOf(u.token), url };
  }

  pathOf(token: string): string {
    return join(this.dir, token);
  }

  /**
   * The one PUT of a slot: exactly the size and content type it was asked with, written to a temporary
   * file and renamed into place when complete. 404 unknown or expired slot, 409 used already (or being
   * used), 413 longer than announced, 400 a different length or type.
   */
  async put(token: string, length: string | undefined, type: string | undefined, body: Readable): Promise<PutOutcome> {
    const u = TOKEN.test(token) ? this.opts.store.uploads.get(token) : undefined;
    if (!u || u.expiresAt <= this.now()) return { status: 404, text: 'no such upload slot (or it expired): ask for a new one' };
    if (u.state !== 'slot' || this.putting.has(token)) return { status: 409, text: 'this slot was used already' };
    if (length !== String(u.size)) return { status: length !== undefined && Number(length) > u.size ? 413 : 400, text: `Content-Length must be ${u.size}, as in the slot request` };
    if (cleanContentType(type) !== u.contentType) return { status: 400, text: `Content-Type must be ${u.contentType}, as in the slot request` };
    this.putting.add(token);
    const part = `${this.pathOf(token)}.part`;
    try {
      const sha256 = await writeExactly(part, u.size, body);
      if (sha256 === undefined) {
        await rm(part, { force: true });
        return { status: 400, text: `the body was not ${u.size} bytes` };
      }
      await rename(part, this.pathOf(token));
      if (!this.opts.store.uploads.markStored(token, sha256, 'slot', this.now() + this.opts.limits.expiryMs)) {
        await rm(this.pathOf(token), { force: true });
        return { status: 409, text: 'this slot is gone' };
      }
      this.opts.log.info({ size: u.size }, 'file uploaded');
      return { status: 201, text: 'stored\n' };
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    } finally {
      this.putting.delete(token);
    }
  }

  /** A file coming from a gateway peer: a 'receiving' row (its bytes are appended by the transfer); the token. */
  beginReceive(accountId: AccountId, name: string, size: number, contentType: string): string {
    this.checkRoom(accountId, size);
    const token = randomBytes(24).toString('base64url');
    this.opts.store.uploads.add({ token, accountId, name: cleanFileName(name), size, contentType: cleanContentType(contentType), state: 'receiving', expiresAt: this.now() + this.opts.limits.expiryMs });
    return token;
  }

  /** Where a receiving file's bytes go until it is complete. */
  partPath(token: string): string {
    return `${this.pathOf(token)}.part`;
  }

  /** Bytes of a receiving file on disk so far (where a resumed transfer goes on). */
  async receivedBytes(token: string): Promise<number> {
    const s = await stat(this.partPath(token)).catch(() => undefined);
    return s?.size ?? 0;
  }

  /** All bytes came and hash to `sha256`: the file is stored; false (and the part removed) when they do not. */
  async finishReceive(token: string, sha256: string): Promise<boolean> {
    const part = `${this.pathOf(token)}.part`;
    const got = await hashFile(part);
    if (got !== sha256) {
      await rm(part, { force: true });
      return false;
    }
    await rename(part, this.pathOf(token));
    return this.opts.store.uploads.markStored(token, sha256, 'receiving', this.now() + this.opts.limits.expiryMs);
  }

  /** Deletes a file (row and bytes). */
  async remove(token: string): Promise<void> {
    this.opts.store.uploads.remove(token);
    await rm(this.pathOf(token), { force: true });
    await rm(`${this.pathOf(token)}.part`, { force: true });
  }

  /** Deletes files whose time is over, `batch` at a time; resolves with how many went. */
  async sweep(batch = 200): Promise<number> {
    let n = 0;
    for (;;) {
      const tokens = this.opts.store.uploads.expired(this.now(), batch);
      for (const t of tokens) if (!this.putting.has(t)) await this.remove(t);
      n += tokens.length;
      if (tokens.length < batch) break;
    }
    if (n > 0) this.opts.log.info({ deleted: n }, 'expired files deleted');
    return n;
  }
}

/** Writes `body` to a new 0600 file; its SHA-256 when it was exactly `size` bytes, else undefined (stops at size + 1). */
async function writeExactly(path: string, size: number, body: Readable): Promise<string | undefined> {
  const fh = await open(path, 'wx', 0o600);
  const hash = createHash('sha256');
  let n = 0;
  try {
    for await (const buf of whileItLasts(body)) {
      n += buf.length;
      if (n > size) {
        body.destroy();
        return undefined;
      }
      hash.update(buf);
      await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
  return n === size ? hash.digest('hex') : undefined;
}

/**
 * The body's chunks until it ends or breaks off: a client that goes away mid-body (or an in-band transfer aborted)
 * is a body too short, answered as such, not an error of ours.
 */
async function* whileItLasts(body: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk as Buffer;
  } catch {
    // Broken off: the caller counts fewer bytes than announced.
  }
}

export async function hashFile(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  const hash = createHash('sha256');
  try {
    for await (const chunk of fh.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await fh.close().catch(() => {});
  }
  return hash.digest('hex');
}
