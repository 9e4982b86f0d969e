// The local account (generated password file, stored SCRAM credentials) and the login
// rate limiter, which together guard the local XMPP server (RFC 5802, RFC 6120 §13.3).
import { readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CREDENTIALS_FILE,
  generatePassword,
  loadOrCreateLocalAccount,
  PASSWORD_FILE,
} from '../../gateway/xmpp/local-account.js';
import { LoginRateLimiter } from '../../gateway/xmpp/login-rate-limit.js';
import { createMechanisms } from '../../gateway/xmpp/sasl/index.js';
import { deriveScramCredentials } from '../../gateway/xmpp/sasl/scram.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(removeTmpDirs);

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('local account', () => {
  it('generates a typeable password of 24 unambiguous characters', () => {
    const passwords = new Set(Array.from({ length: 50 }, generatePassword));
    expect(passwords.size).toBe(50);
    for (const p of passwords) expect(p).toMatch(/^[a-hjkmnp-zA-HJ-NP-Z2-9]{24}$/);
  });

  it('creates the password and credentials 0600 in a 0700 directory', async () => {
    const dir = join(tmpDir(), 'data');
    const account = await loadOrCreateLocalAccount(dir, 'me');
    expect(account.username).toBe('me');
    expect(account.passwordFile).toBe(join(dir, PASSWORD_FILE));
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, PASSWORD_FILE))).toBe(0o600);
    expect(await mode(join(dir, CREDENTIALS_FILE))).toBe(0o600);

    const password = (await readFile(account.passwordFile, 'utf8')).trim();
    expect(account.verifyPassword(password)).toBe(true);
    expect(account.verifyPassword(`${password}x`)).toBe(false);
    expect(account.verifyPassword('')).toBe(false);
    // The credentials file holds salted keys, never the password.
    const stored = await readFile(join(dir, CREDENTIALS_FILE), 'utf8');
    expect(stored).not.toContain(password);
    for (const hash of ['SHA-1', 'SHA-256'] as const) {
      const creds = account.scramCredentials(hash);
      expect(creds.iterations).toBe(4096);
      expect(deriveScramCredentials(password, hash, { salt: Buffer.from(creds.salt, 'base64') })).toEqual(creds);
    }
    // Logging the account never prints the password.
    expect(JSON.stringify(account)).not.toContain(password);
    expect(Object.values(account).join(' ')).not.toContain(password);
  });

  it('keeps the password and credentials across restarts', async () => {
    const dir = tmpDir();
    const first = await loadOrCreateLocalAccount(dir, 'me');
    const password = await readFile(first.passwordFile, 'utf8');
    const credsBefore = await readFile(join(dir, CREDENTIALS_FILE), 'utf8');
    const second = await loadOrCreateLocalAccount(dir, 'me');
    expect(await readFile(second.passwordFile, 'utf8')).toBe(password);
    expect(await readFile(join(dir, CREDENTIALS_FILE), 'utf8')).toBe(credsBefore);
    expect(second.verifyPassword(password.trim())).toBe(true);
    expect(second.scramCredentials('SHA-1')).toEqual(first.scramCredentials('SHA-1'));
  });

  it('takes a password the user wrote into the file (with an editor newline, loose mode)', async () => {
    const dir = tmpDir();
    const before = await loadOrCreateLocalAccount(dir, 'me');
    const old = (await readFile(before.passwordFile, 'utf8')).trim();
    await writeFile(before.passwordFile, 'my own password\n');
    await chmod(before.passwordFile, 0o644);
    const after = await loadOrCreateLocalAccount(dir, 'me');
    expect(await mode(after.passwordFile)).toBe(0o600);
    expect(after.verifyPassword('my own password')).toBe(true);
    expect(after.verifyPassword(old)).toBe(false);
    const creds = after.scramCredentials('SHA-256');
    expect(creds).not.toEqual(before.scramCredentials('SHA-256'));
    expect(deriveScramCredentials('my own password', 'SHA-256', { salt: Buffer.from(creds.salt, 'base64') })).toEqual(creds);
  });

  it('re-derives damaged credentials and those of another username', async () => {
    const dir = tmpDir();
    const a = await loadOrCreateLocalAccount(dir, 'me');
    await writeFile(join(dir, CREDENTIALS_FILE), '{ not json');
    const b = await loadOrCreateLocalAccount(dir, 'me');
    expect(b.scramCredentials('SHA-1').salt).not.toBe(a.scramCredentials('SHA-1').salt);
    const c = await loadOrCreateLocalAccount(dir, 'other');
    expect(c.scramCredentials('SHA-1').salt).not.toBe(b.scramCredentials('SHA-1').salt);
    expect(JSON.parse(await readFile(join(dir, CREDENTIALS_FILE), 'utf8')).username).toBe('other');
  });

  it('refuses an empty password file and a bad username, quoting no secret', async () => {
    const dir = tmpDir();
    await writeFile(join(dir, PASSWORD_FILE), '\n');
    await expect(loadOrCreateLocalAccount(dir, 'me')).rejects.toThrow(/xmpp-password/);
    await expect(loadOrCreateLocalAccount(tmpDir(), 'me@host')).rejects.toThrow(/account\.user/);
  });

  it('offers SCRAM-SHA-256, SCRAM-SHA-1, PLAIN in that order, all checking the account', async () => {
    const account = await loadOrCreateLocalAccount(tmpDir(), 'me');
    const password = (await readFile(account.passwordFile, 'utf8')).trim();
    const mechs = createMechanisms(account);
    expect(mechs.map((m) => m.name)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    expect(mechs.map((m) => m.needsTls)).toEqual([false, false, true]);
    const plain = mechs[2]!;
    expect(plain.start().step(Buffer.from(`\0me\0${password}`))).toEqual({ kind: 'success', username: 'me' });
    expect(() => plain.start().step(Buffer.from(`\0you\0${password}`))).toThrow(/not-authorized/);
    // Localparts are case-insensitive; success names the account as configured.
    expect(plain.start().step(Buffer.from(`\0ME\0${password}`))).toEqual({ kind: 'success', username: 'me' });
    // The SCRAM salt handed out is the stored one.
    const first = mechs[1]!.start().step(Buffer.from('n,,n=me,r=abc'));
    expect(first.kind === 'challenge' && first.data.toString()).toContain(`s=${account.scramCredentials('SHA-1').salt},i=4096`);
  });
});

describe('local account over SCRAM', () => {
  it('an independent SCRAM-SHA-1 client (sasl-scram-sha-1) logs in with the generated password', async () => {
    const account = await loadOrCreateLocalAccount(tmpDir(), 'me');
    const password = (await readFile(account.passwordFile, 'utf8')).trim();
    const Client = createRequire(import.meta.url)('sasl-scram-sha-1') as new () => {
      response(cred: object): string | Promise<string>;
      challenge(chal: string): unknown;
    };
    const login = async (pw: string) => {
      const server = createMechanisms(account).find((m) => m.name === 'SCRAM-SHA-1')!.start();
      const client = new Client();
      const first = server.step(Buffer.from(await client.response({ username: 'me', password: pw })));
      client.challenge(first.kind === 'challenge' ? first.data.toString() : '');
      return server.step(Buffer.from(await client.response({ username: 'me', password: pw })));
    };
    expect(await login(password)).toMatchObject({ kind: 'success', username: 'me' });
    await expect(login('not it')).rejects.toMatchObject({ condition: 'not-authorized' });
  });
});

describe('login rate limiter', () => {
  function limiter(opts: ConstructorParameters<typeof LoginRateLimiter>[0] = {}) {
    let t = 1_000_000;
    const l = new LoginRateLimiter({ now: () => t, ...opts });
    return { l, advance: (ms: number) => (t += ms) };
  }

  it('allows the free failures, then denies with a retry time that doubles up to the cap', () => {
    const { l, advance } = limiter({ freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 4000 });
    for (let i = 0; i < 4; i++) l.recordFailure('ip');
    expect(l.check('ip')).toEqual({ allowed: true });
    l.recordFailure('ip');
    expect(l.check('ip')).toEqual({ allowed: false, retryAfterMs: 1000 });
    advance(400);
    expect(l.check('ip')).toEqual({ allowed: false, retryAfterMs: 600 });
    advance(600);
    expect(l.check('ip')).toEqual({ allowed: true });
    l.recordFailure('ip');
    expect(l.check('ip')).toEqual({ allowed: false, retryAfterMs: 2000 });
    l.recordFailure('ip');
    expect(l.check('ip')).toEqual({ allowed: false, retryAfterMs: 4000 });
    l.recordFailure('ip');
    expect(l.check('ip')).toEqual({ allowed: false, retryAfterMs: 4000 });
    // Other keys are not affected.
    expect(l.check('other')).toEqual({ allowed: true });
  });

  it('uses the documented defaults', () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.recordFailure('k');
    expect(l.check('k')).toEqual({ allowed: false, retryAfterMs: 1000 });
    for (let i = 0; i < 20; i++) l.recordFailure('k');
    expect(l.check('k')).toEqual({ allowed: false, retryAfterMs: 60_000 });
  });

  it('a success resets the key', () => {
    const { l } = limiter({ freeFailures: 1 });
    l.recordFailure('k');
    expect(l.check('k').allowed).toBe(false);
    l.recordSuccess('k');
    expect(l.check('k')).toEqual({ allowed: true });
    expect(l.size).toBe(0);
  });

  it('forgets a key after a long quiet time', () => {
    const { l, advance } = limiter({ freeFailures: 1, forgetAfterMs: 10 * 60_000 });
    l.recordFailure('k');
    l.recordFailure('k');
    advance(10 * 60_000);
    l.recordFailure('k');
    // Counting started again: one failure is free.
    expect(l.check('k').allowed).toBe(false);
    expect((l.check('k') as { retryAfterMs: number }).retryAfterMs).toBe(1000);
  });

  it('keeps memory bounded, forgetting the least recently failing key', () => {
    const { l } = limiter({ freeFailures: 1, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) l.recordFailure(`ip${i}`);
    expect(l.size).toBe(100);
    expect(l.check('ip999').allowed).toBe(false);
    expect(l.check('ip0').allowed).toBe(true);
  });
});
