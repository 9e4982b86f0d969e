// A local XMPP account of the local mode: a generated password in a file the user can read
// or edit, and the salted SCRAM credentials derived from it (RFC 5802, RFC 7677).
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { saslprepLite } from './sasl/mechanism.js';
import {
  deriveScramCredentialsAsync,
  scramCredentialsMatch,
  type ScramCredentials,
  type ScramHash,
} from './sasl/scram.js';
import { ensurePrivateDir, writeSecretFile } from './secret-file.js';

export interface LocalAccount {
  readonly username: string;
  readonly passwordFile: string;
  scramCredentials(hash: ScramHash): ScramCredentials;
  verifyPassword(password: string): boolean;
}

export const PASSWORD_FILE = 'xmpp-password';
export const CREDENTIALS_FILE = 'xmpp-credentials.json';

// Typeable on any keyboard layout and unambiguous when read aloud or off a screen:
// no 0/O/o, 1/l/I/i. 55 symbols × 24 ≈ 138 bits.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const PASSWORD_LENGTH = 24;
const MAX_PASSWORD_FILE = 1024;

export function generatePassword(): string {
  let out = '';
  // randomInt is uniform (no modulo bias).
  for (let i = 0; i < PASSWORD_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

interface StoredCredentials {
  version: 1;
  username: string;
  scram: Record<ScramHash, ScramCredentials>;
}

const HASHES: ScramHash[] = ['SHA-1', 'SHA-256'];

function isCredentials(c: unknown): c is ScramCredentials {
  const o = c as ScramCredentials | undefined;
  return (
    typeof o?.salt === 'string' &&
    Number.isInteger(o.iterations) &&
    o.iterations >= 4096 &&
    typeof o.storedKey === 'string' &&
    typeof o.serverKey === 'string'
  );
}

async function readStored(file: string): Promise<StoredCredentials | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as StoredCredentials;
    if (parsed?.version !== 1 || typeof parsed.username !== 'string') return undefined;
    return HASHES.every((h) => isCredentials(parsed.scram?.[h])) ? parsed : undefined;
  } catch {
    // Missing or damaged: derived again from the password, which is the source of truth.
    return undefined;
  }
}

/** The password as the user left it in the file; surrounding whitespace (an editor's newline) is ignored. */
async function readOrCreatePassword(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const password = generatePassword();
    await writeSecretFile(file, `${password}\n`);
    return password;
  }
  // An editor may have saved it with looser permissions.
  await chmod(file, 0o600);
  return checkedPassword(text, file, ' (delete it to generate a new one)');
}

/** (Additive) The password a file's text holds (one line; surrounding whitespace ignored), or a ConfigError naming `file`. */
export function checkedPassword(text: string, file: string, hint = ''): string {
  const password = text.trim();
  // Never quote the content: it is the secret.
  if (password === '' || password.length > MAX_PASSWORD_FILE || password.includes('\n')) {
    throw new ConfigError(file, `must hold one line with the password${hint}`);
  }
  if (saslprepLite(password) === undefined) {
    throw new ConfigError(file, 'holds control characters');
  }
  return password;
}

/** Password generated at first start (random, ~24 chars, typeable: no ambiguous chars), stored 0600 in `<dataDir>/xmpp-password` (a user reads it there / the CLI shows it); SCRAM credentials (salted, both hashes) in `<dataDir>/xmpp-credentials.json` 0600. Later starts reuse them; if the password file was edited by the user, credentials are re-derived. */
export async function loadOrCreateLocalAccount(dataDir: string, username: string): Promise<LocalAccount> {
  const user = saslprepLite(username);
  if (!user || /[@/\s]/.test(user)) throw new ConfigError('account.user', 'must be a non-empty localpart without @, / or spaces');
  await ensurePrivateDir(dataDir);
  const passwordFile = join(dataDir, PASSWORD_FILE);
  const credentialsFile = join(dataDir, CREDENTIALS_FILE);
  const password = await readOrCreatePassword(passwordFile);

  // One PBKDF2 at start tells whether the file still matches the credentials; every
  // login afterwards is hashes and HMACs only.
  let stored = await readStored(credentialsFile);
  const valid =
    stored !== undefined &&
    stored.username === user &&
    (await Promise.all(HASHES.map((h) => scramCredentialsMatch(password, h, stored!.scram[h])))).every(Boolean);
  if (!valid) {
    const [sha1, sha256] = await Promise.all(HASHES.map((h) => deriveScramCredentialsAsync(password, h)));
    stored = { version: 1, username: user, scram: { 'SHA-1': sha1!, 'SHA-256': sha256! } };
    await writeSecretFile(credentialsFile, `${JSON.stringify(stored, null, 2)}\n`);
  }
  return new Account(user, passwordFile, password, stored!.scram);
}

class Account implements LocalAccount {
  // Private so that logging the account object never prints the password.
  readonly #passwordDigest: Buffer;
  readonly #scram: Record<ScramHash, ScramCredentials>;

  constructor(
    readonly username: string,
    readonly passwordFile: string,
    password: string,
    scram: Record<ScramHash, ScramCredentials>,
  ) {
    this.#passwordDigest = digest(password)!;
    this.#scram = scram;
  }

  scramCredentials(hash: ScramHash): ScramCredentials {
    return { ...this.#scram[hash] };
  }

  /** For PLAIN: compares digests in constant time, so the length and content do not leak through timing. */
  verifyPassword(password: string): boolean {
    const candidate = digest(password);
    return candidate !== undefined && timingSafeEqual(candidate, this.#passwordDigest);
  }

  toJSON(): object {
    return { username: this.username, passwordFile: this.passwordFile };
  }
}

function digest(password: string): Buffer | undefined {
  const p = saslprepLite(password);
  return p === undefined ? undefined : createHash('sha256').update(p, 'utf8').digest();
}
