// The certificates of the local XMPP server: a small CA made once (the user trusts it once,
// which Dino needs) and a server certificate it signs for the XMPP domain (RFC 5280;
// RFC 6125 and RFC 6120 §13.7.1.2 for the names a client checks).
import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { pki } from 'node-forge';
import { certificateSerial } from '../../bridge-protocol/identity.js';
import { writeFileAtomic, writeSecretFile } from './secret-file.js';

export interface ServerTls {
  caCertPem: string;
  caCertFile: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export class LocalCaError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalCaError';
  }
}

export const TLS_DIR = 'tls';
const CA_CERT = 'ca.pem';

/** Where the CA certificate a user trusts lives (it exists once the gateway has started). */
export function caCertPath(dataDir: string): string {
  return join(dataDir, TLS_DIR, CA_CERT);
}
const CA_KEY = 'ca-key.pem';
const SERVER_CERT = 'server.pem';
const SERVER_KEY = 'server-key.pem';

const DAY = 24 * 3600_000;
const CA_DAYS = 20 * 365;
// 825 days: the longest server certificate Apple platforms accept from a private CA.
const SERVER_DAYS = 825;
const RENEW_BEFORE_DAYS = 30;

export interface LocalCaOptions {
  extraNames?: string[];
  /** Test hook: the clock used for validity and renewal. */
  now?: () => number;
}

/** A small local CA (created once) and a server certificate for `domain` signed by it, in `<dataDir>/tls/` (keys 0600). The user trusts the CA once (Pidgin/Gajim can also accept the server cert). SAN: DNS:<domain>, DNS:localhost, IP:127.0.0.1, IP:::1, plus extraNames. Re-issued (same CA) when the domain/names change or it is near expiry. */
export async function loadOrCreateServerTls(dataDir: string, domain: string, opts: LocalCaOptions = {}): Promise<ServerTls> {
  if (domain.trim() === '') throw new LocalCaError('the XMPP domain for the server certificate is empty');
  const now = opts.now?.() ?? Date.now();
  const dir = join(dataDir, TLS_DIR);
  const files = {
    caCertFile: join(dir, CA_CERT),
    caKeyFile: join(dir, CA_KEY),
    certFile: join(dir, SERVER_CERT),
    keyFile: join(dir, SERVER_KEY),
  };
  const names = sanList(domain, opts.extraNames ?? []);

  let ca = await loadCa(files.caCertFile, files.caKeyFile, now);
  if (!ca) {
    ca = await createCa(now);
    // The certificate last: a CA whose certificate was never written was never trusted,
    // so a crash in between just makes a new one next time.
    await writeSecretFile(files.caKeyFile, ca.keyPem);
    await writeFileAtomic(files.caCertFile, ca.certPem, 0o644);
  }

  let server = await loadServer(files.certFile, files.keyFile, ca.certPem, names, now);
  if (!server) {
    server = await issueServer(ca, domain, names, now);
    await writeSecretFile(files.keyFile, server.keyPem);
    await writeFileAtomic(files.certFile, server.certPem, 0o644);
  }
  return {
    caCertPem: ca.certPem,
    caCertFile: files.caCertFile,
    certPem: server.certPem,
    keyPem: server.keyPem,
    certFile: files.certFile,
    keyFile: files.keyFile,
  };
}

interface Pair {
  keyPem: string;
  certPem: string;
}

type SanEntry = { kind: 'dns'; value: string } | { kind: 'ip'; value: string };

/** The names the certificate must carry, deduplicated, in a stable order. */
function sanList(domain: string, extra: string[]): SanEntry[] {
  const seen = new Set<string>();
  const out: SanEntry[] = [];
  for (const raw of [domain, 'localhost', '127.0.0.1', '::1', ...extra]) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    const entry: SanEntry = isIP(name) ? { kind: 'ip', value: name } : { kind: 'dns', value: name };
    const key = sanKey(entry);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(entry);
    }
  }
  return out;
}

/** Comparable form: IPs by their bytes, so `::1` and `0:0:…:1` are the same name. */
function sanKey(e: SanEntry): string {
  return e.kind === 'dns' ? `dns:${e.value.toLowerCase()}` : `ip:${ipHex(e.value)}`;
}

/** The address's bytes in hex (4 or 16 of them); '' when it is not an IP address. */
export function ipHex(ip: string): string {
  if (isIP(ip) === 4) return ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('');
  if (isIP(ip) !== 6) return '';
  let s = ip.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) is the last two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (quad) {
    const v4 = ipHex(quad[1]!);
    s = `${s.slice(0, quad.index)}${v4.slice(0, 4)}:${v4.slice(4)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/**
 * The names of a certificate's subjectAltName as sanKey()s, from Node's text form
 * (`DNS:a.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`; a value with special
 * characters is a JSON string). Reading it with node:crypto keeps node-forge out of every start.
 */
function sanKeysOf(x509: X509Certificate): string[] {
  const out: string[] = [];
  for (const m of (x509.subjectAltName ?? '').matchAll(/(DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    out.push(m[1] === 'DNS' ? `dns:${value.toLowerCase()}` : `ip:${ipHex(value)}`);
  }
  return out;
}

async function readPair(certFile: string, keyFile: string): Promise<{ cert?: string; key?: string }> {
  const read = (f: string) =>
    readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  const [cert, key] = await Promise.all([read(certFile), read(keyFile)]);
  return { cert, key };
}

async function loadCa(certFile: string, keyFile: string, now: number): Promise<Pair | undefined> {
  const { cert, key } = await readPair(certFile, keyFile);
  if (cert === undefined) return undefined;
  // The user may already trust this CA: never replace it silently because of a bad file.
  const broken = (why: string, cause?: unknown) =>
    new LocalCaError(`local CA in ${certFile}: ${why}; remove the tls directory to make a new CA (and trust it again)`, { cause });
  if (key === undefined) throw broken(`its key ${keyFile} is missing`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw broken('the key does not belong to the certificate');
  } catch (err) {
    if (err instanceof LocalCaError) throw err;
    throw broken('the certificate or key is unreadable', err);
  }
  // Expiring (after 20 years): nothing can be trusted with it any more, so a new CA.
  if (Date.parse(x509.validTo) - now < RENEW_BEFORE_DAYS * DAY) return undefined;
  return { keyPem: key, certPem: cert };
}

async function loadServer(
  certFile: string,
  keyFile: string,
  caCertPem: string,
  names: SanEntry[],
  now: number,
): Promise<Pair | undefined> {
  const { cert, key } = await readPair(certFile, keyFile);
  if (cert === undefined || key === undefined) return undefined;
  try {
    const x509 = new X509Certificate(cert);
    const ca = new X509Certificate(caCertPem);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined;
    if (!x509.checkIssued(ca) || !x509.verify(ca.publicKey)) return undefined;
    if (Date.parse(x509.validTo) - now < RENEW_BEFORE_DAYS * DAY) return undefined;
    const have = sanKeysOf(x509).sort();
    const want = names.map(sanKey).sort();
    if (have.join(' ') !== want.join(' ')) return undefined;
  } catch {
    // Unreadable: the server certificate is ours to replace at will.
    return undefined;
  }
  return { keyPem: key, certPem: cert };
}

/** RSA-2048 made by node:crypto in the thread pool, never on the event loop. */
function rsaKey(): Promise<string> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    ),
  );
}

type Forge = typeof import('node-forge');

/** node-forge, loaded only when a certificate is made (first start, renewal), never on a normal start. */
async function loadForge(): Promise<Forge> {
  return (await import('node-forge')).default;
}

function newCertificate(forge: Forge, keyPem: string, now: number, days: number): pki.Certificate {
  const key = forge.pki.privateKeyFromPem(keyPem) as pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // Positive and minimally encoded: '0' + random made 1 certificate in ~512 that OpenSSL refuses
  // to load (illegal padding), and then every STARTTLS of that gateway failed.
  cert.serialNumber = certificateSerial(randomBytes(16));
  // An hour back: a client whose clock is slightly behind still accepts it.
  cert.validity.notBefore = new Date(now - 3600_000);
  cert.validity.notAfter = new Date(now + days * DAY);
  return cert;
}

async function createCa(now: number): Promise<Pair> {
  const [keyPem, forge] = await Promise.all([rsaKey(), loadForge()]);
  const cert = newCertificate(forge, keyPem, now, CA_DAYS);
  // A random suffix tells two installations apart in a trust store.
  const subject = [
    { name: 'commonName', value: `tlsim-gateway local CA ${randomBytes(4).toString('hex')}` },
    { name: 'organizationName', value: 'tlsim-gateway' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    // pathLen 0: it signs server certificates only, never another CA.
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

async function issueServer(ca: Pair, domain: string, names: SanEntry[], now: number): Promise<Pair> {
  const [keyPem, forge] = await Promise.all([rsaKey(), loadForge()]);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = newCertificate(forge, keyPem, now, SERVER_DAYS);
  cert.setSubject([{ name: 'commonName', value: domain }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // Clients match names against the SAN only (RFC 6125 §6.4.4); the CN is for people.
    {
      name: 'subjectAltName',
      altNames: names.map((n) => (n.kind === 'dns' ? { type: 2, value: n.value } : { type: 7, ip: n.value })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}
