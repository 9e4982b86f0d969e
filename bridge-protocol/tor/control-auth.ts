// Tor control authentication: PROTOCOLINFO, then SAFECOOKIE / COOKIE / HASHEDPASSWORD / NULL (control-spec §3.5, §3.21, §3.24, §5.1).
//
// Nothing secret is logged: not the cookie, the password, nor either HMAC.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { TorError, parseArgs, quote } from './control-parse.js';
import type { TorControl } from './control.js';

export type AuthMethod = 'SAFECOOKIE' | 'COOKIE' | 'HASHEDPASSWORD' | 'NULL';

export interface ProtocolInfo {
  methods: string[];
  cookieFile?: string;
  torVersion?: string;
}

export interface ControlAuthOptions {
  /** Overrides the COOKIEFILE tor names (e.g. when tor runs in another mount namespace). */
  cookieFile?: string;
  /** The control password itself (tests) ... */
  password?: string;
  /** ... or, better, a file holding it (one line; a trailing newline is ignored). */
  passwordFile?: string;
  /** Methods in order of preference; default SAFECOOKIE, HASHEDPASSWORD (with a password), COOKIE, NULL. */
  prefer?: AuthMethod[];
}

/** The cookie is 32 random bytes (§5.1); anything else is not tor's cookie. */
export const COOKIE_BYTES = 32;
const SERVER_KEY = 'Tor safe cookie authentication server-to-controller hash';
const CLIENT_KEY = 'Tor safe cookie authentication controller-to-server hash';

/** PROTOCOLINFO 1; allowed once before authentication. */
export async function protocolInfo(control: TorControl): Promise<ProtocolInfo> {
  const reply = await control.command('PROTOCOLINFO 1');
  const info: ProtocolInfo = { methods: [] };
  for (const line of reply.lines) {
    if (line.text.startsWith('AUTH ')) {
      const { kv } = parseArgs(line.text.slice(5));
      info.methods = (kv.METHODS ?? '').split(',').filter(Boolean);
      if (kv.COOKIEFILE !== undefined) info.cookieFile = kv.COOKIEFILE;
    } else if (line.text.startsWith('VERSION ')) {
      const v = parseArgs(line.text.slice(8)).kv.Tor;
      if (v !== undefined) info.torVersion = v;
    }
  }
  return info;
}

/**
 * Authenticates a fresh connection and returns the method used. A refusal rejects with
 * TorControlError 515 and tor closes the connection (§3.5).
 */
export async function authenticate(control: TorControl, opts: ControlAuthOptions = {}): Promise<AuthMethod> {
  const info = await protocolInfo(control);
  const password = opts.password ?? (opts.passwordFile ? await readPasswordFile(opts.passwordFile) : undefined);
  const cookieFile = opts.cookieFile ?? info.cookieFile;
  const prefer = opts.prefer ?? ['SAFECOOKIE', 'HASHEDPASSWORD', 'COOKIE', 'NULL'];
  const usable = (m: AuthMethod): boolean =>
    info.methods.includes(m) &&
    (m === 'HASHEDPASSWORD' ? password !== undefined : m === 'SAFECOOKIE' || m === 'COOKIE' ? cookieFile !== undefined : true);
  const method = prefer.find(usable);
  if (!method) {
    const need = info.methods.includes('HASHEDPASSWORD') ? ' (tor wants a password: give a password file)' : '';
    throw new TorError('auth', `no usable tor control authentication: tor offers ${info.methods.join(', ') || 'nothing'}${need}`);
  }
  switch (method) {
    case 'NULL':
      await control.command('AUTHENTICATE');
      break;
    case 'HASHEDPASSWORD':
      await control.command(`AUTHENTICATE ${quote(password!)}`);
      break;
    case 'COOKIE':
      await control.command(`AUTHENTICATE ${(await readCookie(cookieFile!)).toString('hex')}`);
      break;
    case 'SAFECOOKIE':
      await safeCookie(control, await readCookie(cookieFile!));
      break;
  }
  return method;
}

async function safeCookie(control: TorControl, cookie: Buffer): Promise<void> {
  const clientNonce = randomBytes(32);
  const reply = await control.command(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString('hex')}`);
  const text = reply.lines[reply.lines.length - 1]!.text;
  const { kv } = parseArgs(text.replace(/^AUTHCHALLENGE\s*/, ''));
  const serverHash = Buffer.from(kv.SERVERHASH ?? '', 'hex');
  const serverNonce = Buffer.from(kv.SERVERNONCE ?? '', 'hex');
  if (serverHash.length !== 32 || serverNonce.length !== 32) {
    throw new TorError('protocol', 'tor sent a malformed AUTHCHALLENGE reply');
  }
  const msg = Buffer.concat([cookie, clientNonce, serverNonce]);
  const expected = createHmac('sha256', SERVER_KEY).update(msg).digest();
  // A wrong SERVERHASH means whoever answers does not know the cookie: not our tor.
  if (!timingSafeEqual(expected, serverHash)) {
    control.destroy();
    throw new TorError('auth', 'the tor control port failed the SAFECOOKIE check (SERVERHASH mismatch): it is not the tor that wrote the cookie');
  }
  await control.command(`AUTHENTICATE ${createHmac('sha256', CLIENT_KEY).update(msg).digest('hex')}`);
}

/** Reads the cookie, refusing any size but 32 bytes (reads at most 33, whatever the file holds). */
export async function readCookie(path: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new TorError('auth', `cannot read the tor control cookie ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const buf = Buffer.alloc(COOKIE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead !== COOKIE_BYTES) {
      throw new TorError('auth', `the tor control cookie ${path} is not ${COOKIE_BYTES} bytes long`);
    }
    return buf.subarray(0, COOKIE_BYTES);
  } finally {
    await fh.close();
  }
}

const MAX_PASSWORD_FILE_BYTES = 4096;

export async function readPasswordFile(path: string): Promise<string> {
  const raw = await readFile(path);
  if (raw.length > MAX_PASSWORD_FILE_BYTES) throw new TorError('auth', `the tor control password file ${path} is too large`);
  return raw.toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `HashedControlPassword` value for `password`, as `tor --hash-password` makes it: OpenPGP
 * iterated+salted S2K with SHA-1 (RFC 2440 §3.6.1.3), indicator 0x60 = 65536 bytes hashed.
 */
export function hashPassword(password: string, salt: Buffer = randomBytes(8)): string {
  if (salt.length !== 8) throw new RangeError('the S2K salt is 8 bytes');
  const indicator = 0x60;
  const count = (16 + (indicator & 15)) << ((indicator >> 4) + 6);
  const input = Buffer.concat([salt, Buffer.from(password, 'utf8')]);
  const hash = createHash('sha1');
  let left = Math.max(count, input.length);
  while (left > 0) {
    const n = Math.min(left, input.length);
    hash.update(n === input.length ? input : input.subarray(0, n));
    left -= n;
  }
  return '16:' + Buffer.concat([salt, Buffer.from([indicator]), hash.digest()]).toString('hex').toUpperCase();
}
