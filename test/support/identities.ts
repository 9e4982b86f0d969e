// Reference-style peer identities made by openssl or GnuTLS certtool (as tlsim users make them), throwaway
// in-process ones, and temp dirs.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';

const run = promisify(execFile);

export type OpensslKeyType = 'rsa2048' | 'rsa4096' | 'ec';

export interface OpensslIdentity {
  keyFile: string;
  certFile: string;
  keyPem: string;
  certPem: string;
  /** Computed by `openssl x509 -outform der | sha256sum`, never by our code. */
  fingerprint: string;
}

const NEWKEY: Record<OpensslKeyType, string[]> = {
  rsa2048: ['-newkey', 'rsa:2048'],
  rsa4096: ['-newkey', 'rsa:4096'],
  // P-256: what `openssl ecparam`-minded users pick; GnuTLS and Node both accept it.
  ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
};

/** The fingerprint of a certificate file as a reference user checks it (PROTOCOL.md "Identity"). */
export async function opensslFingerprint(certFile: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'openssl x509 -in "$1" -outform der | sha256sum', 'sh', certFile]);
  const fp = stdout.split(/\s/)[0]!;
  if (!/^[0-9a-f]{64}$/.test(fp)) throw new Error(`unexpected sha256sum output: ${stdout}`);
  return fp;
}

/**
 * `openssl req -x509 -newkey rsa:2048 -nodes -keyout K -out C -days 365 -subj /CN=peer` in
 * `dir` (files `<name>.key`, `<name>.crt`).
 */
export async function makeOpensslIdentity(
  dir: string,
  opts: { keyType?: OpensslKeyType; name?: string; cn?: string } = {},
): Promise<OpensslIdentity> {
  const name = opts.name ?? 'peer';
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await run('openssl', [
    'req', '-x509', ...NEWKEY[opts.keyType ?? 'rsa2048'], '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '365', '-subj', `/CN=${opts.cn ?? 'peer'}`,
  ]);
  const [keyPem, certPem, fingerprint] = await Promise.all([
    readFile(keyFile, 'utf8'),
    readFile(certFile, 'utf8'),
    opensslFingerprint(certFile),
  ]);
  return { keyFile, certFile, keyPem, certPem, fingerprint };
}

/**
 * A pair made with GnuTLS `certtool`, the other way reference users make identities. The key
 * file keeps certtool's human-readable preamble before the PEM, as users' files have it.
 */
export async function makeCerttoolIdentity(
  dir: string,
  opts: {
    keyType?: 'rsa' | 'ecdsa';
    name?: string;
    cn?: string;
    /** Validity as certtool reads it ("2015-01-01 00:00:00 UTC"): e.g. long expired, as tlsd users' often are. */
    validity?: { from: string; to: string };
  } = {},
): Promise<OpensslIdentity> {
  const name = opts.name ?? 'certtool';
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const template = join(dir, `${name}.tmpl`);
  const validity = opts.validity
    ? `activation_date = "${opts.validity.from}"\nexpiration_date = "${opts.validity.to}"\n`
    : 'expiration_days = 365\n';
  await writeFile(template, `cn = ${opts.cn ?? 'peer'}\n${validity}`);
  const keyArgs = opts.keyType === 'ecdsa' ? ['--key-type', 'ecdsa', '--curve', 'secp256r1'] : ['--key-type', 'rsa', '--bits', '2048'];
  await run('certtool', ['--generate-privkey', ...keyArgs, '--outfile', keyFile]);
  await run('certtool', ['--generate-self-signed', '--load-privkey', keyFile, '--template', template, '--outfile', certFile]);
  const [keyPem, certPem, fingerprint] = await Promise.all([
    readFile(keyFile, 'utf8'),
    readFile(certFile, 'utf8'),
    opensslFingerprint(certFile),
  ]);
  return { keyFile, certFile, keyPem, certPem, fingerprint };
}

// Shared by every evaluation of this module in one process (vitest reuses workers), so the
// 'exit' hook is registered once.
const DIRS = Symbol.for('tlsim-gateway.test.tmpdirs');
const dirs: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[DIRS] ??= (() => {
  const d = new Set<string>();
  // A failed run must not leave key material lying in /tmp.
  process.once('exit', () => {
    for (const dir of d) rmSync(dir, { recursive: true, force: true });
  });
  return d;
})());

/** A validity that ended years ago: reference peers do not check dates, so neither may we. */
export const EXPIRED = { from: '2015-01-01 00:00:00 UTC', to: '2016-01-01 00:00:00 UTC' };

/** A fresh private directory under the system temp dir, removed by removeTmpDirs() or at exit. */
export function tmpDir(prefix = 'tlsim-test'): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  dirs.add(dir);
  return dir;
}

/** Removes every directory tmpDir() made (for afterAll). */
export function removeTmpDirs(): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** A throwaway self-signed RSA identity, like the ones reference users make with openssl. */
export function selfSigned(cn = 't'): { key: string; cert: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const fkey = forge.pki.privateKeyFromPem(key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(fkey.n, fkey.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.sign(fkey, forge.md.sha256.create());
  return { key, cert: forge.pki.certificateToPem(cert) };
}
