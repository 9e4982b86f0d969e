// Fuzzing share strings and peer addresses (gateway/bridge/share-string.ts): parse∘format is the identity, what
// parses once is already in normal form, and anything else is a ShareStringError or AddressError.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  AddressError,
  formatAddress,
  formatReferenceAddress,
  formatShareString,
  normalizeHost,
  parseAddress,
  parseShareString,
  ShareStringError,
  type ShareString,
} from '../../gateway/bridge/share-string.js';
import { fuzzTarget, outcome } from './support.js';

function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return bits > 0 ? out + alphabet[(value << (5 - bits)) & 31] : out;
}

/** Independently of the code under test: whether a lowercase 56-character name has version 3 and its checksum. */
function onionValid(name: string): boolean {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const label = name.slice(0, -'.onion'.length);
  if (!/^[a-z2-7]{56}$/.test(label)) return false;
  let bits = '';
  for (const c of label) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = Buffer.from(Array.from({ length: 35 }, (_, i) => parseInt(bits.slice(i * 8, i * 8 + 8), 2)));
  const sum = createHash('sha3-256').update('.onion checksum').update(bytes.subarray(0, 32)).update(bytes.subarray(34)).digest();
  return bytes[34] === 3 && sum.subarray(0, 2).equals(bytes.subarray(32, 34));
}

/** A v3 onion name with a correct checksum (rend-spec-v3 §6), from its public key. */
const onion = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((key) => {
  const pub = Buffer.from(key);
  const checksum = createHash('sha3-256').update('.onion checksum').update(pub).update(Buffer.from([3])).digest().subarray(0, 2);
  return `${base32(Buffer.concat([pub, checksum, Buffer.from([3])]))}.onion`;
});
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')).filter((h) => !/^[0-9.]+$/.test(h) && !h.endsWith('.onion') && h.length <= 253);
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const groups = Array.from({ length: 8 }, (_, i) => ((b[i * 2]! << 8) | b[i * 2 + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1); // the compressed, lowercase form
});
const host = fc.oneof(fc.ipV4(), ipv6, dnsName, onion);
const shareString: fc.Arbitrary<ShareString> = fc.record({
  fingerprint: fc.stringMatching(/^[0-9a-f]{64}$/),
  host,
  port: fc.integer({ min: 1, max: 65535 }),
});

const FP = 'a'.repeat(64);
const PIECES = ['tlsim://', 'TLSIM://', FP, FP.toUpperCase(), '@', ':', '[', ']', '::1', '127.0.0.1', '1.2.3', 'Example.ORG', '.', '-', 'onion', '.onion', ' ', '\t', '\n', '80', '0', '65536', '99999', '%eth0', 'é', 'a'.repeat(63), 'a'.repeat(64)];
const garbage = fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PIECES) }, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 10 }).map((p) => p.join(''));

const typed = (e: unknown) => e instanceof ShareStringError || e instanceof AddressError;

fuzzTarget('share-string', (t) => {
  t.property('parseShareString(formatShareString(s)) is s', [shareString], (s) => JSON.stringify(parseShareString(formatShareString(s))) === JSON.stringify(s), { runs: 2000 });

  t.property('both address forms parse back to the address', [host, fc.integer({ min: 1, max: 65535 })], (h, port) => {
    const a = { host: h, port };
    const back = [parseAddress(formatAddress(a)), parseAddress(formatReferenceAddress(a)), parseAddress(` ${formatAddress(a)}\n`)];
    return back.every((b) => b.host === h && b.port === port) && normalizeHost(h) === h;
  }, { runs: 2000 });

  t.property('garbage share strings: a typed error, or a value in normal form that formats and parses back', [garbage], (text) => {
    const r = outcome(() => parseShareString(text));
    if (!r.ok) return typed(r.error);
    return JSON.stringify(parseShareString(formatShareString(r.value))) === JSON.stringify(r.value);
  }, { runs: 3000 });

  t.property('garbage addresses: a typed error, or a normal-form address that formats and parses back', [garbage], (text) => {
    const r = outcome(() => parseAddress(text));
    if (!r.ok) return r.error instanceof AddressError;
    const again = parseAddress(formatAddress(r.value));
    return again.host === r.value.host && again.port === r.value.port && normalizeHost(r.value.host) === r.value.host;
  }, { runs: 3000 });

  t.property('an onion name with one character changed is accepted exactly when its checksum still holds', [onion, fc.nat(), fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz234567A')], (name, at, ch) => {
    const i = at % 56;
    const changed = `${name.slice(0, i)}${ch}${name.slice(i + 1)}`;
    const r = outcome(() => normalizeHost(changed));
    if (!r.ok) return r.error instanceof AddressError && !onionValid(changed.toLowerCase());
    return r.value === changed.toLowerCase() && onionValid(r.value);
  }, { runs: 1000, weight: 0.2 });
});
