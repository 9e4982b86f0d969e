// Files of an account (XEP-0363 slots and uploads, files received from gateway peers): what the database keeps
// about them. The bytes are files under <dataDir>/uploads/ (gateway/files/upload-store.ts).
import type { AccountId } from './accounts.js';
import { checkFingerprint, withForeignKey, type StoreContext } from './common.js';

export type UploadState = 'slot' | 'stored' | 'receiving';

export interface StoredUpload {
  /** The random part of its URLs. */
  readonly token: string;
  readonly accountId: AccountId;
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
  readonly state: UploadState;
  /** Lowercase hex, once the bytes are complete. */
  readonly sha256: string | undefined;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface UploadInput {
  token: string;
  accountId: AccountId;
  name: string;
  size: number;
  contentType: string;
  state: UploadState;
  sha256?: string;
  expiresAt: number;
}

/** A stored file on its way to a gateway peer. */
export interface FileSend {
  readonly fingerprint: string;
  readonly transferId: string;
  readonly token: string;
}

/** A file coming from a gateway peer. */
export interface FileReceive extends FileSend {
  readonly sha256: string;
}

interface Row {
  token: string;
  account_id: number;
  name: string;
  size: number;
  content_type: string;
  state: UploadState;
  sha256: string | null;
  created_at: number;
  expires_at: number;
}

const COLUMNS = 'token, account_id, name, size, content_type, state, sha256, created_at, expires_at';
const toUpload = (r: Row): StoredUpload => ({
  token: r.token,
  accountId: r.account_id,
  name: r.name,
  size: r.size,
  contentType: r.content_type,
  state: r.state,
  sha256: r.sha256 ?? undefined,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export class Uploads {
  private readonly ins;
  private readonly one;
  private readonly used;
  private readonly done;
  private readonly del;
  private readonly old;
  private readonly sendIns;
  private readonly sendList;
  private readonly sendDel;
  private readonly recvIns;
  private readonly recvOne;
  private readonly recvDel;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    this.ins = db.prepare<[string, number, string, number, string, UploadState, string | null, number, number]>(
      `INSERT INTO uploads (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.one = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM uploads WHERE token = ?`);
    this.used = db.prepare<[number], { n: number | null }>('SELECT sum(size) AS n FROM uploads WHERE account_id = ?');
    this.done = db.prepare<[string, number, string, string]>("UPDATE uploads SET state = 'stored', sha256 = ?, expires_at = ? WHERE token = ? AND state = ?");
    this.del = db.prepare<[string]>('DELETE FROM uploads WHERE token = ?');
    this.old = db.prepare<[number, number], { token: string }>('SELECT token FROM uploads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?');
    this.sendIns = db.prepare<[number, string, string, string, number]>(
      'INSERT OR IGNORE INTO file_sends (account_id, fingerprint, transfer_id, token, queued_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.sendList = db.prepare<[number, string], { fingerprint: string; transfer_id: string; token: string }>(
      'SELECT fingerprint, transfer_id, token FROM file_sends WHERE account_id = ? AND fingerprint = ? ORDER BY queued_at',
    );
    this.sendDel = db.prepare<[number, string, string]>('DELETE FROM file_sends WHERE account_id = ? AND fingerprint = ? AND transfer_id = ?');
    this.recvIns = db.prepare<[number, string, string, string, string]>(
      'INSERT INTO file_receives (account_id, fingerprint, transfer_id, token, sha256) VALUES (?, ?, ?, ?, ?)',
    );
    this.recvOne = db.prepare<[number, string, string], { fingerprint: string; transfer_id: string; token: string; sha256: string }>(
      'SELECT fingerprint, transfer_id, token, sha256 FROM file_receives WHERE account_id = ? AND fingerprint = ? AND transfer_id = ?',
    );
    this.recvDel = db.prepare<[number, string, string]>('DELETE FROM file_receives WHERE account_id = ? AND fingerprint = ? AND transfer_id = ?');
  }

  add(u: UploadInput): void {
    withForeignKey('no-account', `no account with id ${u.accountId}`, () =>
      this.ins.run(u.token, u.accountId, u.name, u.size, u.contentType, u.state, u.sha256 ?? null, this.ctx.now(), u.expiresAt),
    );
  }

  get(token: string): StoredUpload | undefined {
    const r = this.one.get(token);
    return r && toUpload(r);
  }

  /** Bytes the account's files take or may take (slots count at their announced size). */
  usedBytes(accountId: AccountId): number {
    return this.used.get(accountId)?.n ?? 0;
  }

  /** A slot or a receiving file is complete, kept until `expiresAt`; false when it was not in `from` (already stored, or gone). */
  markStored(token: string, sha256: string, from: UploadState, expiresAt: number): boolean {
    return this.done.run(sha256, expiresAt, token, from).changes > 0;
  }

  remove(token: string): boolean {
    return this.del.run(token).changes > 0;
  }

  /** Tokens of files whose time is over, oldest first. */
  expired(now: number, limit: number): string[] {
    return this.old.all(now, limit).map((r) => r.token);
  }

  queueSend(accountId: AccountId, fingerprint: string, transferId: string, token: string): void {
    checkFingerprint(fingerprint);
    withForeignKey('no-contact', `no contact ${fingerprint}`, () => this.sendIns.run(accountId, fingerprint, transferId, token, this.ctx.now()));
  }

  sends(accountId: AccountId, fingerprint: string): FileSend[] {
    return this.sendList.all(accountId, fingerprint).map((r) => ({ fingerprint: r.fingerprint, transferId: r.transfer_id, token: r.token }));
  }

  sendDone(accountId: AccountId, fingerprint: string, transferId: string): void {
    this.sendDel.run(accountId, fingerprint, transferId);
  }

  addReceive(accountId: AccountId, r: FileReceive): void {
    withForeignKey('no-contact', `no contact ${r.fingerprint}`, () => this.recvIns.run(accountId, r.fingerprint, r.transferId, r.token, r.sha256));
  }

  receive(accountId: AccountId, fingerprint: string, transferId: string): FileReceive | undefined {
    const r = this.recvOne.get(accountId, fingerprint, transferId);
    return r && { fingerprint: r.fingerprint, transferId: r.transfer_id, token: r.token, sha256: r.sha256 };
  }

  receiveDone(accountId: AccountId, fingerprint: string, transferId: string): void {
    this.recvDel.run(accountId, fingerprint, transferId);
  }
}
