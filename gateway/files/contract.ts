// What the XMPP side may ask of the gateway's file store: upload slots for one account (XEP-0363), and how
// a URL of ours names a stored file (a message whose body is one is a file to send). No I/O here.

/** Why a slot or a received file was refused, with what a client shows (XEP-0363 §4). */
export class UploadRefusedError extends Error {
  constructor(
    readonly reason: 'too-large' | 'quota' | 'bad-request' | 'unavailable',
    message: string,
    /** For too-large: the largest file accepted, in bytes. */
    readonly maxFileBytes?: number,
  ) {
    super(message);
    this.name = 'UploadRefusedError';
  }
}

export interface UploadSlot {
  putUrl: string;
  getUrl: string;
  /** Headers the client must send with its PUT (XEP-0363 §5); none needed: the token is the secret. */
  headers: ReadonlyArray<{ name: string; value: string }>;
}

/** A stored, complete file of the account. */
export interface StoredFile {
  token: string;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  /** Where its bytes are (read only). */
  path: string;
}

/** One account's view of the file store. */
export interface AccountFiles {
  /** undefined: uploads cannot be served now (no HTTPS listener); else the largest file, in bytes. */
  maxFileBytes(): number | undefined;
  /** A new slot; throws UploadRefusedError. */
  requestSlot(name: string, size: number, contentType: string): UploadSlot;
  /** The account's stored file a GET URL of ours names, if `url` is one. */
  fileForUrl(url: string): StoredFile | undefined;
}
