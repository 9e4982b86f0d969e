// A tlsim identity: a private key and a self-signed X.509 certificate; the peer *is* the
// lowercase hex SHA-256 of the certificate's DER (PROTOCOL.md "Identity").
import { createHash, createPrivateKey, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { pki } from 'node-forge';
import { IdentityError } from './errors.js';
import { writeSecretFile } from './secret-file.js';

export interface Identity {
  /** PEM private key (PKCS#8 for keys we make; whatever tlsd used for imported ones). */
  readonly keyPem: string;
  readonly certPem: string;
  /** 64 lowercase hex characters. */
  readonly fingerprint: string;
}

export const KEY_FILE = 'key.pem';
export const CERT_FILE = 'cert.pem';

const FINGERPRINT_RE = /^[0-9a-f]{64}$/;

export function isFingerprint(s: string): boolean {
  return FINGERPRINT_RE.test(s);
}

/** Fingerprint of a certificate given as PEM text or DER bytes. */
export function fingerprintOf(cert: string | Uint8Array): string {
  const der = typeof cert === 'string' ? new X509Certificate(cert).raw : cert;
  return createHash('sha256').update(der).digest('hex');
}

/**
 * A certificate serial (hex for node-forge) from random bytes: positive and minimally encoded
 * DER. The first byte is forced into 0x40-0x7f: a leading 0x00 followed by a byte below 0x80
 * is "illegal padding" to OpenSSL, which then cannot read the certificate at all (forge strips
 * only one leading zero, so the former `'0' + random` failed once in ~512 identities).
 */
export function certificateSerial(random: Uint8Array): string {
  if (random.length < 1 || random.length > 20) throw new RangeError('a serial has 1 to 20 bytes');
  const bytes = Buffer.from(random);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/**
 * A new RSA-2048 identity (RSA: every reference peer accepts it). The key is made by
 * node:crypto off the event loop; node-forge builds and signs the certificate. node-forge is
 * loaded here only: a gateway whose identity exists never loads it (≈ 3 MB of heap, start time).
 */
export async function generateIdentity(opts: { commonName?: string; bits?: number } = {}): Promise<Identity> {
  const keyPem = await new Promise<string>((resolve, reject) =>
    generateKeyPair(
      'rsa',
      {
        modulusLength: opts.bits ?? 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    ),
  );
  const { default: forge } = await import('node-forge');
  const key = forge.pki.privateKeyFromPem(keyPem) as pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = certificateSerial(randomBytes(16));
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + 20 * 365 * 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: opts.commonName ?? 'tlsim' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'basicConstraints', cA: false }]);
  cert.sign(key, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return { keyPem, certPem, fingerprint: fingerprintOf(certPem) };
}

/** Checks that key and certificate belong together and are usable; returns the identity. */
export function identityFromPem(keyPem: string, certPem: string): Identity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new IdentityError('the certificate is not a readable PEM X.509 certificate', { cause: err });
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new IdentityError('the key is not a readable, unencrypted PEM private key', { cause: err });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new IdentityError('the key does not belong to the certificate');
  }
  return { keyPem, certPem, fingerprint: fingerprintOf(cert.raw) };
}

export async function loadIdentity(dir: string): Promise<Identity> {
  const [keyPem, certPem] = await Promise.all([
    readFile(join(dir, KEY_FILE), 'utf8'),
    readFile(join(dir, CERT_FILE), 'utf8'),
  ]);
  return identityFromPem(keyPem, certPem);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function save(dir: string, id: Identity): Promise<void> {
  // Key first: a crash between the two writes leaves no certificate without its key.
  await writeSecretFile(join(dir, KEY_FILE), id.keyPem);
  await writeSecretFile(join(dir, CERT_FILE), id.certPem);
}

/** The identity stored in `dir`, created (and stored 0600) when there is none. */
export async function loadOrCreateIdentity(
  dir: string,
  opts: { commonName?: string } = {},
): Promise<Identity & { created: boolean }> {
  const haveKey = await exists(join(dir, KEY_FILE));
  const haveCert = await exists(join(dir, CERT_FILE));
  if (haveKey && haveCert) return { ...(await loadIdentity(dir)), created: false };
  if (haveKey !== haveCert) {
    throw new IdentityError(
      `${dir} holds ${haveKey ? KEY_FILE : CERT_FILE} without ${haveKey ? CERT_FILE : KEY_FILE}; ` +
        'refusing to replace half an identity (move it away or import the pair)',
    );
  }
  const id = await generateIdentity(opts);
  await save(dir, id);
  return { ...id, created: true };
}

/**
 * Adopt an existing tlsd key/certificate pair so its owner keeps the identity (and the
 * fingerprint their contacts know). Refuses to overwrite a different identity unless `force`.
 */
export async function importIdentity(
  dir: string,
  keyPem: string,
  certPem: string,
  opts: { force?: boolean } = {},
): Promise<Identity> {
  const id = identityFromPem(keyPem, certPem);
  if (!opts.force && (await exists(join(dir, CERT_FILE)))) {
    const current = await loadIdentity(dir).catch(() => undefined);
    if (current && current.fingerprint !== id.fingerprint) {
      throw new IdentityError(
        `${dir} already holds identity ${current.fingerprint}; importing ${id.fingerprint} would replace it (use force)`,
      );
    }
  }
  await save(dir, id);
  return id;
}
