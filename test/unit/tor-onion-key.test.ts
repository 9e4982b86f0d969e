// Onion keys: v3 address derivation and validation, the ADD_ONION blob, storage 0600 (rend-spec-v3 §6; research/tor.md §2.7).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addOnionKeyBlob,
  generateOnionKey,
  isOnionV3Address,
  loadOrCreateOnionKey,
  onionKeyFromSeed,
  onionServiceId,
  parseOnionAddress,
} from '../../bridge-protocol/tor/onion-key.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('v3 onion addresses', () => {
  it('derives a 56-char lowercase address ending in "d" (version 3) that validates', () => {
    const key = generateOnionKey();
    expect(key.serviceId).toMatch(/^[a-z2-7]{55}d$/);
    expect(parseOnionAddress(`${key.serviceId}.onion`)).toEqual({ ok: true, serviceId: key.serviceId, publicKey: key.publicKey });
    expect(isOnionV3Address(key.serviceId.toUpperCase() + '.ONION')).toBe(true);
    expect(isOnionV3Address(`www.${key.serviceId}.onion.`)).toBe(true);
  });

  it("validates a well-known published address (DuckDuckGo's) and re-derives it from its public key", () => {
    const ddg = 'duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad';
    const parsed = parseOnionAddress(ddg);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(onionServiceId(parsed.publicKey)).toBe(ddg);
  });

  it('names what is wrong: length, alphabet, checksum, version', () => {
    const id = generateOnionKey().serviceId;
    expect(parseOnionAddress('expyuzz4wqqyqhjn.onion')).toEqual({ ok: false, problem: 'length' });
    expect(parseOnionAddress(id.slice(0, 55) + '1')).toEqual({ ok: false, problem: 'alphabet' });
    const flipped = id.slice(0, 10) + (id[10] === 'a' ? 'b' : 'a') + id.slice(11);
    expect(parseOnionAddress(flipped)).toEqual({ ok: false, problem: 'checksum' });
    // Last char 'd' encodes the version byte 0x03 in its top bits: 'a' makes it 0x00.
    expect(parseOnionAddress(id.slice(0, 55) + 'a')).toEqual({ ok: false, problem: 'version' });
  });
});

describe('ADD_ONION key blob', () => {
  it('is the clamped SHA-512 expansion of the seed (64 bytes), not the seed', () => {
    const seed = Buffer.alloc(32, 7);
    const blob = addOnionKeyBlob(onionKeyFromSeed(seed));
    expect(blob.startsWith('ED25519-V3:')).toBe(true);
    const bytes = Buffer.from(blob.slice('ED25519-V3:'.length), 'base64');
    expect(bytes).toHaveLength(64);
    const h = createHash('sha512').update(seed).digest();
    expect(bytes.subarray(32)).toEqual(h.subarray(32));
    expect(bytes[0]! & 7).toBe(0);
    expect(bytes[31]! & 0xc0).toBe(0x40);
  });

  it('the same seed always gives the same key and address', () => {
    const a = onionKeyFromSeed(Buffer.alloc(32, 1));
    const b = onionKeyFromSeed(Buffer.alloc(32, 1));
    expect(a.serviceId).toBe(b.serviceId);
    expect(() => onionKeyFromSeed(Buffer.alloc(31))).toThrow(RangeError);
  });
});

describe('storage', () => {
  it('creates the key once (0600 PKCS#8 PEM) and loads the same one afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlsim-onion-'));
    dirs.push(dir);
    const path = join(dir, 'keys', 'onion.pem');
    const made = await loadOrCreateOnionKey(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const loaded = await loadOrCreateOnionKey(path);
    expect(loaded.serviceId).toBe(made.serviceId);
    expect(loaded.seed).toEqual(made.seed);
  });
});
