// SCRAM-SHA-1 and SCRAM-SHA-256, server side, without channel binding (RFC 5802, RFC 7677;
// RFC 6120 §6.4). Credentials are stored salted; a login costs two hashes and two HMACs.
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  authzidAllowed,
  decodeUtf8,
  SaslFailure,
  saslprepLite,
  type SaslExchange,
  type SaslMechanism,
  type SaslStartOptions,
  type SaslStep,
} from './mechanism.js';

export type ScramHash = 'SHA-1' | 'SHA-256';

export interface ScramCredentials {
  salt: string /* base64 */;
  iterations: number;
  storedKey: string /* base64 */;
  serverKey: string /* base64 */;
}

export const DEFAULT_ITERATIONS = 4096;
const SALT_BYTES = 16;
const NODE_HASH: Record<ScramHash, { name: string; bytes: number }> = {
  'SHA-1': { name: 'sha1', bytes: 20 },
  'SHA-256': { name: 'sha256', bytes: 32 },
};

export interface ScramOptions {
  /** Test hook: the server's part of the nonce (printable ASCII, no comma). */
  nonce?: () => string;
}

function keysFromSalted(hash: ScramHash, salted: Buffer, salt: Buffer, iterations: number): ScramCredentials {
  const h = NODE_HASH[hash].name;
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash(h).update(clientKey).digest('base64'),
    serverKey: createHmac(h, salted).update('Server Key').digest('base64'),
  };
}

function normalizedPassword(password: string): string {
  const p = saslprepLite(password);
  if (p === undefined) throw new Error('the password contains control characters');
  return p;
}

/** SaltedPassword = Hi(Normalize(password), salt, i) (RFC 5802 §3), synchronously: for tests and tools. */
export function deriveScramCredentials(
  password: string,
  hash: ScramHash,
  opts: { salt?: Buffer; iterations?: number } = {},
): ScramCredentials {
  const salt = opts.salt ?? randomBytes(SALT_BYTES);
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  const { name, bytes } = NODE_HASH[hash];
  const salted = pbkdf2Sync(normalizedPassword(password), salt, iterations, bytes, name);
  return keysFromSalted(hash, salted, salt, iterations);
}

/** The same off the event loop (libuv thread pool): what the daemon uses at start. */
export async function deriveScramCredentialsAsync(
  password: string,
  hash: ScramHash,
  opts: { salt?: Buffer; iterations?: number } = {},
): Promise<ScramCredentials> {
  const salt = opts.salt ?? randomBytes(SALT_BYTES);
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  const { name, bytes } = NODE_HASH[hash];
  const salted = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(normalizedPassword(password), salt, iterations, bytes, name, (err, key) => (err ? reject(err) : resolve(key))),
  );
  return keysFromSalted(hash, salted, salt, iterations);
}

/** Whether `password` produces `creds` (same salt and iterations), off the event loop. */
export async function scramCredentialsMatch(password: string, hash: ScramHash, creds: ScramCredentials): Promise<boolean> {
  const again = await deriveScramCredentialsAsync(password, hash, {
    salt: Buffer.from(creds.salt, 'base64'),
    iterations: creds.iterations,
  });
  return safeEqual(Buffer.from(again.storedKey, 'base64'), Buffer.from(creds.storedKey, 'base64'));
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const PRINTABLE_NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function malformed(text: string): SaslFailure {
  return new SaslFailure('malformed-request', text);
}

function strictBase64(s: string, what: string): Buffer {
  if (!BASE64.test(s)) throw malformed(`${what} is not base64`);
  return Buffer.from(s, 'base64');
}

/** saslname (RFC 5802 §5.1): `,` and `=` travel as `=2C` and `=3D`; any other `=` is an error. */
function decodeSaslname(s: string, what: string): string {
  if (/=(?!2C|3D)/.test(s)) throw malformed(`${what} has a bad escape`);
  const name = saslprepLite(s.replace(/=2C/g, ',').replace(/=3D/g, '='));
  if (!name) throw malformed(`${what} is empty or has control characters`);
  return name;
}

/** `k=value` with the expected attribute letter. */
function attr(part: string | undefined, key: string, what: string): string {
  if (part === undefined || !part.startsWith(`${key}=`)) throw malformed(`expected ${what}`);
  return part.slice(2);
}

interface FirstMessage {
  gs2Header: string;
  bare: string;
  username: string;
  clientNonce: string;
}

/** client-first-message = gs2-header client-first-message-bare (RFC 5802 §7). */
function parseClientFirst(msg: string): FirstMessage {
  const parts = msg.split(',');
  const flag = parts[0];
  // `p=` asks for channel binding, which only the -PLUS mechanisms we never offer do.
  if (flag?.startsWith('p=')) throw malformed('channel binding is not supported');
  // `y`: the client could bind but believes we cannot; true, since no -PLUS is advertised.
  if (flag !== 'n' && flag !== 'y') throw malformed('bad gs2 header');
  const authzidPart = parts[1];
  if (authzidPart === undefined) throw malformed('bad gs2 header');
  const authzid = authzidPart === '' ? '' : decodeSaslname(attr(authzidPart, 'a', 'authzid'), 'authzid');
  if (parts[2]?.startsWith('m=')) throw malformed('mandatory extensions are not supported');
  const username = decodeSaslname(attr(parts[2], 'n', 'username'), 'username');
  const clientNonce = attr(parts[3], 'r', 'nonce');
  if (!PRINTABLE_NONCE.test(clientNonce)) throw malformed('bad nonce');
  if (!authzidAllowed(authzid, username)) throw new SaslFailure('invalid-authzid', 'cannot act as another user');
  const gs2Header = `${flag},${authzidPart},`;
  return { gs2Header, bare: msg.slice(gs2Header.length), username, clientNonce };
}

export function scramMechanism(
  hash: ScramHash,
  lookup: (username: string) => ScramCredentials | undefined,
  opts: ScramOptions = {},
): SaslMechanism {
  const { name: h, bytes } = NODE_HASH[hash];
  // Unknown users get a salt that stays the same for the same name, so asking twice does
  // not tell whether the user exists; the key lives as long as this mechanism.
  const fakeKey = randomBytes(32);
  const fakeCredentials = (username: string): ScramCredentials => ({
    salt: createHmac('sha256', fakeKey).update(username).digest().subarray(0, SALT_BYTES).toString('base64'),
    iterations: DEFAULT_ITERATIONS,
    storedKey: randomBytes(bytes).toString('base64'),
    serverKey: randomBytes(bytes).toString('base64'),
  });
  const serverNonce = opts.nonce ?? (() => randomBytes(24).toString('base64'));

  return {
    name: hash === 'SHA-1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256',
    needsTls: false,
    start(startOpts: SaslStartOptions = {}): SaslExchange {
      let state: 'first' | 'final' | 'done' = 'first';
      let askedForFirst = false;
      let first: FirstMessage;
      let creds: ScramCredentials;
      let known = false;
      let serverFirst = '';

      const onFirst = (data: Buffer): SaslStep => {
        if (data.length === 0) {
          // No initial response: an empty challenge asks for it (RFC 6120 §6.4.2), once.
          if (askedForFirst) throw malformed('expected client-first-message');
          askedForFirst = true;
          return { kind: 'challenge', data: Buffer.alloc(0) };
        }
        first = parseClientFirst(decodeUtf8(data, 'client-first-message'));
        startOpts.admit?.(first.username);
        const found = lookup(first.username);
        known = found !== undefined;
        creds = found ?? fakeCredentials(first.username);
        serverFirst = `r=${first.clientNonce}${serverNonce()},s=${creds.salt},i=${creds.iterations}`;
        state = 'final';
        return { kind: 'challenge', data: Buffer.from(serverFirst, 'utf8') };
      };

      const onFinal = (data: Buffer): SaslStep => {
        const msg = decodeUtf8(data, 'client-final-message');
        // client-final-message = channel-binding "," nonce ["," extensions] "," proof
        const proofAt = msg.lastIndexOf(',p=');
        if (proofAt < 0) throw malformed('expected proof');
        const withoutProof = msg.slice(0, proofAt);
        const parts = withoutProof.split(',');
        const cbind = strictBase64(attr(parts[0], 'c', 'channel binding'), 'channel binding');
        if (!cbind.equals(Buffer.from(first.gs2Header, 'utf8'))) throw malformed('channel binding does not match');
        const nonce = serverFirst.slice(2, serverFirst.indexOf(','));
        if (attr(parts[1], 'r', 'nonce') !== nonce) throw malformed('wrong nonce');
        const proof = strictBase64(msg.slice(proofAt + 3), 'proof');

        const authMessage = `${first.bare},${serverFirst},${withoutProof}`;
        const storedKey = Buffer.from(creds.storedKey, 'base64');
        const clientSignature = createHmac(h, storedKey).update(authMessage).digest();
        let ok = false;
        if (proof.length === bytes) {
          const clientKey = Buffer.alloc(bytes);
          for (let i = 0; i < bytes; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
          ok = safeEqual(createHash(h).update(clientKey).digest(), storedKey);
        }
        if (!ok || !known) throw new SaslFailure('not-authorized');
        const serverSignature = createHmac(h, Buffer.from(creds.serverKey, 'base64')).update(authMessage).digest();
        // COMPAT(pidgin): <success> must carry v=, empty success data is "Invalid challenge from server".
        return { kind: 'success', data: Buffer.from(`v=${serverSignature.toString('base64')}`), username: first.username };
      };

      return {
        get username() {
          return state === 'first' ? undefined : first?.username;
        },
        step(clientMessage: Buffer): SaslStep {
          if (state === 'done') throw malformed('the exchange is over');
          try {
            if (state === 'first') return onFirst(clientMessage);
            const result = onFinal(clientMessage);
            state = 'done';
            return result;
          } catch (err) {
            state = 'done';
            throw err;
          }
        },
      };
    },
  };
}
