// Peer identities for load: RSA-2048 ones made by the project's generateIdentity (slow: cached under
// bench/.cache/), and cheap distinct ones: an ECDSA P-256 key per identity (node:crypto) with its own
// self-signed certificate (DER assembled with node-forge's ASN.1 helpers, signed by node:crypto),
// so every simulated peer has its own key and its own fingerprint.
import { X509Certificate, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { CACHE, built } from './common.mjs';

const fp = (der) => createHash('sha256').update(der).digest('hex');

/** `n` RSA-2048 identities, made once and cached (bench/.cache/rsa-identities.json). */
export async function rsaIdentities(n) {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, 'rsa-identities.json');
  const have = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
  if (have.length < n) {
    const { generateIdentity } = await built('bridge-protocol/index.js');
    console.log(`making ${n - have.length} RSA-2048 identities (cached in ${file})…`);
    while (have.length < n) {
      const batch = await Promise.all(Array.from({ length: Math.min(4, n - have.length) }, () => generateIdentity({ commonName: 'bench' })));
      have.push(...batch.map(({ keyPem, certPem, fingerprint }) => ({ keyPem, certPem, fingerprint })));
    }
    writeFileSync(file, JSON.stringify(have));
  }
  return have.slice(0, n);
}

const asn1 = forge.asn1;
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const algId = () => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(ECDSA_SHA256).getBytes()),
]);

let template;
/** A self-signed certificate skeleton from forge (RSA placeholder key, replaced below). */
function skeleton() {
  if (template) return template;
  const keys = forge.pki.rsa.generateKeyPair({ bits: 512, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 86400_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86400_000);
  cert.setSubject([{ name: 'commonName', value: 'bench-peer' }]);
  cert.setIssuer([{ name: 'commonName', value: 'bench-peer' }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  template = cert;
  return cert;
}

/** One ECDSA P-256 identity with its own key and self-signed certificate. */
export function ecIdentity() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const tree = forge.pki.certificateToAsn1(skeleton());
  const tbs = tree.value[0];
  // [0] version, serial, signature alg, issuer, validity, subject, subjectPublicKeyInfo
  tbs.value[1] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, '\x40' + randomBytes(15).toString('binary'));
  tbs.value[2] = algId();
  tbs.value[6] = asn1.fromDer(publicKey.export({ type: 'spki', format: 'der' }).toString('binary'));
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const sig = sign('sha256', tbsDer, privateKey);
  tree.value[1] = algId();
  tree.value[2] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + sig.toString('binary'));
  const der = Buffer.from(asn1.toDer(tree).getBytes(), 'binary');
  const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }), certPem, fingerprint: fp(der) };
}

/**
 * `n` distinct peer identities: the first `rsa` are RSA-2048 (cached), the rest ECDSA P-256. Cached RSA
 * identity 0 is left out: it is the one a benchmark's own manager or gateway uses.
 */
export async function peerIdentities(n, rsa = 200) {
  const out = (await rsaIdentities(Math.min(n, rsa) + 1)).slice(1);
  for (let i = out.length; i < n; i++) out.push(ecIdentity());
  return out;
}

/** Sanity check: OpenSSL (through node:crypto) reads the certificate and its key matches. */
export function checkIdentity(id) {
  const x = new X509Certificate(id.certPem);
  if (fp(x.raw) !== id.fingerprint) throw new Error('fingerprint mismatch');
  return x;
}
