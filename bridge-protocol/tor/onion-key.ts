// Our onion service key: an ed25519 seed we generate and keep (0600), the ADD_ONION blob and the v3 address derived offline (rend-spec-v3 §6, control-spec §3.27).
//
// We keep the key, not tor: tor's DataDirectory can then be wiped at any time, and the
// address is known (and shown to the user) before tor even runs. research/tor.md §2.7.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeSecretFile } from '../secret-file.js';

export interface OnionKey {
  /** The 32-byte ed25519 seed (the secret we store). */
  seed: Buffer;
  /** The 32-byte ed25519 public key. */
  publicKey: Buffer;
  /** 56 lowercase base32 characters, without `.onion`. */
  serviceId: string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ONION_VERSION = 0x03;

export function generateOnionKey(): OnionKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return onionKeyFromPrivate(privateKey);
}

export function onionKeyFromSeed(seed: Uint8Array): OnionKey {
  if (seed.length !== 32) throw new RangeError('an ed25519 seed is 32 bytes');
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  return onionKeyFromPrivate(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

function onionKeyFromPrivate(privateKey: KeyObject): OnionKey {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = Buffer.from(der.subarray(der.length - 32));
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  return { seed, publicKey, serviceId: onionServiceId(publicKey) };
}

/**
 * `ED25519-V3:<base64>` for ADD_ONION: the 64-byte *expanded* secret key (clamped scalar ‖
 * PRF secret) = SHA-512 of the seed, clamped. Not the seed itself (a common mistake).
 */
export function addOnionKeyBlob(key: Pick<OnionKey, 'seed'>): string {
  const h = createHash('sha512').update(key.seed).digest();
  h[0]! &= 248;
  h[31]! &= 63;
  h[31]! |= 64;
  return `ED25519-V3:${h.toString('base64')}`;
}

/** base32(pub ‖ sha3-256(".onion checksum" ‖ pub ‖ 0x03)[0..2] ‖ 0x03), lowercase, 56 chars. */
export function onionServiceId(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new RangeError('an ed25519 public key is 32 bytes');
  const version = Buffer.from([ONION_VERSION]);
  return base32(Buffer.concat([publicKey, onionChecksum(publicKey), version]));
}

function onionChecksum(publicKey: Uint8Array): Buffer {
  return createHash('sha3-256')
    .update('.onion checksum')
    .update(publicKey)
    .update(Buffer.from([ONION_VERSION]))
    .digest()
    .subarray(0, 2);
}

export type OnionAddressProblem = 'length' | 'alphabet' | 'version' | 'checksum';

/**
 * Checks a v3 onion address (`<56 chars>` or `<56 chars>.onion`, any case, subdomains allowed as
 * tor does): returns the service id and public key, or the problem. Validate before dialing:
 * tor answers a bad address with 0xF6 anyway, but a local check names what is wrong.
 */
export function parseOnionAddress(
  address: string,
): { ok: true; serviceId: string; publicKey: Buffer } | { ok: false; problem: OnionAddressProblem } {
  const labels = address.toLowerCase().replace(/\.$/, '').replace(/\.onion$/, '').split('.');
  const id = labels[labels.length - 1]!;
  if (id.length !== 56) return { ok: false, problem: 'length' };
  const bytes = base32Decode(id);
  if (!bytes) return { ok: false, problem: 'alphabet' };
  if (bytes[34] !== ONION_VERSION) return { ok: false, problem: 'version' };
  const publicKey = bytes.subarray(0, 32);
  if (!onionChecksum(publicKey).equals(bytes.subarray(32, 34))) return { ok: false, problem: 'checksum' };
  return { ok: true, serviceId: id, publicKey: Buffer.from(publicKey) };
}

export function isOnionV3Address(address: string): boolean {
  return parseOnionAddress(address).ok;
}

/** Loads the key from `path`, or makes one and stores it there (0600, atomically). */
export async function loadOrCreateOnionKey(path: string): Promise<OnionKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const key = generateOnionKey();
    await saveOnionKey(path, key);
    return key;
  }
  return onionKeyFromPem(pem);
}

/** PKCS#8 PEM, the format every ed25519 tool reads (`openssl pkey -in FILE`). */
export async function saveOnionKey(path: string, key: OnionKey): Promise<void> {
  const pem = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key.seed]), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  await writeSecretFile(path, pem);
}

export function onionKeyFromPem(pem: string): OnionKey {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new RangeError(`the onion key is ${key.asymmetricKeyType}, not ed25519`);
  return onionKeyFromPrivate(key);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff; // at most 12 bits are ever pending
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text: string): Buffer | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
