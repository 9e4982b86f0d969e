// Our identities are what reference users make and check with openssl: same key types, same fingerprint, safe files.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IdentityError } from '../../bridge-protocol/errors.js';
import {
  certificateSerial,
  CERT_FILE,
  generateIdentity,
  identityFromPem,
  importIdentity,
  KEY_FILE,
  loadOrCreateIdentity,
  type Identity,
} from '../../bridge-protocol/identity.js';
import { makeCerttoolIdentity, makeOpensslIdentity, opensslFingerprint, removeTmpDirs, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';

const run = promisify(execFile);

afterAll(removeTmpDirs);

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** What `openssl x509 -text` says about a certificate: openssl, not our code, reads it. */
async function opensslText(certFile: string): Promise<string> {
  return (await run('openssl', ['x509', '-in', certFile, '-noout', '-text'])).stdout;
}

// gnutls-cli stands for the gnutls-bin package, which also brings certtool.
interopSuite('identity (checked with openssl and certtool)', ['openssl', 'gnutls-cli'], () => {
  let generated: Identity;
  let generatedCert: string;
  let rsa2048: OpensslIdentity;

  beforeAll(async () => {
    generated = await generateIdentity();
    generatedCert = join(tmpDir('gen'), 'cert.pem');
    await writeFile(generatedCert, generated.certPem);
    rsa2048 = await makeOpensslIdentity(tmpDir('ossl'));
  });

  it('generateIdentity makes a self-signed RSA 2048 certificate that openssl reads', async () => {
    const text = await opensslText(generatedCert);
    expect(text).toMatch(/Public Key Algorithm: rsaEncryption/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    const issuer = /Issuer: (.*)/.exec(text)?.[1];
    const subject = /Subject: (.*)/.exec(text)?.[1];
    expect(issuer).toBeTruthy();
    expect(issuer).toBe(subject);
    // Self-signed: the certificate's own key verifies its signature.
    const cert = new X509Certificate(generated.certPem);
    expect(cert.verify(cert.publicKey)).toBe(true);
    // And the private key is the one in the certificate, as openssl sees them.
    const keyFile = join(tmpDir('gen'), 'key.pem');
    await writeFile(keyFile, generated.keyPem, { mode: 0o600 });
    const certMod = (await run('openssl', ['x509', '-in', generatedCert, '-noout', '-modulus'])).stdout;
    const keyMod = (await run('openssl', ['rsa', '-in', keyFile, '-noout', '-modulus'])).stdout;
    expect(keyMod).toBe(certMod);
  });

  it('our fingerprint of a generated identity is `openssl x509 -outform der | sha256sum`', async () => {
    expect(generated.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(generated.fingerprint).toBe(await opensslFingerprint(generatedCert));
  });

  it('generated serials are always readable (regression: 1 identity in ~512 had an "illegal padding" serial)', () => {
    // The random bytes that used to break: a zero byte first, then one below 0x80.
    const risky = [
      Buffer.from('00' + '41'.repeat(15), 'hex'),
      Buffer.from('0000' + '00'.repeat(14), 'hex'),
      Buffer.from('ff'.repeat(16), 'hex'),
      Buffer.from('80' + '00'.repeat(15), 'hex'),
    ];
    const key = forge.pki.privateKeyFromPem(generated.keyPem) as forge.pki.rsa.PrivateKey;
    for (const random of risky) {
      const serial = certificateSerial(random);
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
      cert.serialNumber = serial;
      cert.validity.notBefore = new Date();
      cert.validity.notAfter = new Date(Date.now() + 3600_000);
      cert.setSubject([{ name: 'commonName', value: 'tlsim' }]);
      cert.setIssuer([{ name: 'commonName', value: 'tlsim' }]);
      cert.sign(key, forge.md.sha256.create());
      // OpenSSL (inside Node) must parse it, and see the serial we chose, positive.
      const parsed = new X509Certificate(forge.pki.certificateToPem(cert));
      expect(parsed.serialNumber.toLowerCase()).toBe(serial);
      expect(parseInt(serial.slice(0, 2), 16)).toBeGreaterThanOrEqual(0x40);
      expect(parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });

  it('two generated identities are two different peers', async () => {
    const other = await generateIdentity();
    expect(other.fingerprint).not.toBe(generated.fingerprint);
  });

  it('loadOrCreateIdentity creates key.pem and cert.pem readable only by the owner', async () => {
    // A directory that does not exist yet, as on first start.
    const dir = join(tmpDir('store'), 'state', 'identity');
    const first = await loadOrCreateIdentity(dir);
    expect(first.created).toBe(true);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, KEY_FILE))).toBe(0o600);
    expect(await mode(join(dir, CERT_FILE))).toBe(0o600);
    expect(first.fingerprint).toBe(await opensslFingerprint(join(dir, CERT_FILE)));
    // Nothing else (no temporary files) is left in the directory.
    expect((await readdir(dir)).sort()).toEqual([CERT_FILE, KEY_FILE]);
  });

  it('loadOrCreateIdentity returns the same identity on the next start', async () => {
    const dir = tmpDir('store');
    const first = await loadOrCreateIdentity(dir);
    const second = await loadOrCreateIdentity(dir);
    expect(second.created).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.certPem).toBe(first.certPem);
    expect(await readFile(join(dir, CERT_FILE), 'utf8')).toBe(first.certPem);
  });

  it.each([
    ['RSA 2048 (openssl req -newkey rsa:2048)', 'rsa2048'],
    ['RSA 4096', 'rsa4096'],
    ['EC P-256', 'ec'],
  ] as const)('importing an openssl-made %s pair keeps its fingerprint', async (_label, keyType) => {
    const made = keyType === 'rsa2048' ? rsa2048 : await makeOpensslIdentity(tmpDir('ossl'), { keyType });
    const dir = tmpDir('store');
    const imported = await importIdentity(dir, made.keyPem, made.certPem);
    expect(imported.fingerprint).toBe(made.fingerprint);
    // The stored pair is what the gateway runs with from then on.
    const loaded = await loadOrCreateIdentity(dir);
    expect(loaded.created).toBe(false);
    expect(loaded.fingerprint).toBe(made.fingerprint);
    expect(await opensslFingerprint(join(dir, CERT_FILE))).toBe(made.fingerprint);
    expect(await mode(join(dir, KEY_FILE))).toBe(0o600);
  });

  it.each(['rsa', 'ecdsa'] as const)(
    'importing a GnuTLS certtool-made %s pair (key file with its text preamble) keeps its fingerprint',
    async (keyType) => {
      const made = await makeCerttoolIdentity(tmpDir('certtool'), { keyType });
      expect(made.keyPem).toMatch(/^Public Key Info:/);
      const imported = await importIdentity(tmpDir('store'), made.keyPem, made.certPem);
      expect(imported.fingerprint).toBe(made.fingerprint);
    },
  );

  it('an old-style "BEGIN RSA PRIVATE KEY" key (older openssl, tlsd setups) is accepted', async () => {
    const dir = tmpDir('ossl');
    const traditional = (await run('openssl', ['rsa', '-in', rsa2048.keyFile, '-traditional'])).stdout;
    expect(traditional).toMatch(/BEGIN RSA PRIVATE KEY/);
    const imported = await importIdentity(join(dir, 'store'), traditional, rsa2048.certPem);
    expect(imported.fingerprint).toBe(rsa2048.fingerprint);
  });

  it('a key that does not belong to the certificate is refused with a clear error', async () => {
    const other = await makeOpensslIdentity(tmpDir('ossl'), { name: 'other' });
    const dir = tmpDir('store');
    const attempt = importIdentity(dir, other.keyPem, rsa2048.certPem);
    await expect(attempt).rejects.toBeInstanceOf(IdentityError);
    await expect(attempt).rejects.toThrow(/key does not belong to the certificate/);
    // Nothing was written.
    await expect(stat(join(dir, KEY_FILE))).rejects.toThrow();
    // The same when such a pair is found on disk.
    const mixed = tmpDir('store');
    await writeFile(join(mixed, KEY_FILE), other.keyPem, { mode: 0o600 });
    await writeFile(join(mixed, CERT_FILE), rsa2048.certPem, { mode: 0o600 });
    await expect(loadOrCreateIdentity(mixed)).rejects.toThrow(/key does not belong to the certificate/);
  });

  it('a passphrase-protected key is refused, saying why', async () => {
    const encrypted = (
      await run('openssl', ['pkey', '-in', rsa2048.keyFile, '-aes256', '-passout', 'pass:secret'])
    ).stdout;
    expect(encrypted).toMatch(/ENCRYPTED/);
    expect(() => identityFromPem(encrypted, rsa2048.certPem)).toThrow(IdentityError);
    expect(() => identityFromPem(encrypted, rsa2048.certPem)).toThrow(/unencrypted/);
  });

  it('a file that is not a certificate is refused, saying which part is wrong', () => {
    expect(() => identityFromPem(rsa2048.keyPem, 'not a certificate')).toThrow(/certificate/);
    expect(() => identityFromPem('not a key', rsa2048.certPem)).toThrow(/key/);
  });

  it.each([
    ['only key.pem', KEY_FILE],
    ['only cert.pem', CERT_FILE],
  ])('half an identity in the directory (%s) is refused, not replaced', async (_label, present) => {
    const dir = tmpDir('store');
    await mkdir(dir, { recursive: true });
    const content = present === KEY_FILE ? rsa2048.keyPem : rsa2048.certPem;
    await writeFile(join(dir, present), content, { mode: 0o600 });
    const attempt = loadOrCreateIdentity(dir);
    await expect(attempt).rejects.toBeInstanceOf(IdentityError);
    await expect(attempt).rejects.toThrow(/half an identity/);
    // The file the user had is untouched, and no other file appeared.
    expect(await readFile(join(dir, present), 'utf8')).toBe(content);
    const missing = present === KEY_FILE ? CERT_FILE : KEY_FILE;
    await expect(stat(join(dir, missing))).rejects.toThrow();
  });

  it('importing over a different identity is refused unless forced', async () => {
    const dir = tmpDir('store');
    const mine = await loadOrCreateIdentity(dir);
    const attempt = importIdentity(dir, rsa2048.keyPem, rsa2048.certPem);
    await expect(attempt).rejects.toThrow(new RegExp(`already holds identity ${mine.fingerprint}`));
    expect((await loadOrCreateIdentity(dir)).fingerprint).toBe(mine.fingerprint);
    const forced = await importIdentity(dir, rsa2048.keyPem, rsa2048.certPem, { force: true });
    expect(forced.fingerprint).toBe(rsa2048.fingerprint);
    expect((await loadOrCreateIdentity(dir)).fingerprint).toBe(rsa2048.fingerprint);
  });
});
