// SCRAM server (RFC 5802, RFC 7677): the RFCs' own example exchanges byte for byte, the
// failure conditions, and an independent client (the `sasl-scram-sha-1` package @xmpp/client uses).
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { SaslExchange } from '../../gateway/xmpp/sasl/mechanism.js';
import {
  deriveScramCredentials,
  deriveScramCredentialsAsync,
  scramMechanism,
  type ScramCredentials,
  type ScramHash,
} from '../../gateway/xmpp/sasl/scram.js';
import { failureOf } from '../support/sasl.js';

const b = (s: string) => Buffer.from(s, 'utf8');

/** A minimal SCRAM client (RFC 5802 §3) built straight from node:crypto, for exchanges the RFCs do not show. */
function clientFinal(hash: ScramHash, password: string, gs2: string, clientFirstBare: string, serverFirst: string): string {
  const h = hash === 'SHA-1' ? 'sha1' : 'sha256';
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), hash === 'SHA-1' ? 20 : 32, h);
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${attrs.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(h, createHash(h).update(clientKey).digest()).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((x, i) => x ^ signature[i]!));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

function challenge(ex: SaslExchange, msg: string): string {
  const step = ex.step(b(msg));
  if (step.kind !== 'challenge') throw new Error(`expected a challenge, got ${step.kind}`);
  return step.data.toString('utf8');
}

const RFC5802 = {
  hash: 'SHA-1' as ScramHash,
  salt: 'QSXCR+Q6sek8bf92',
  serverNonce: '3rfcNHYJY1ZVvWVs7j',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
};

const RFC7677 = {
  hash: 'SHA-256' as ScramHash,
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

for (const rfc of [RFC5802, RFC7677]) {
  describe(`SCRAM-${rfc.hash} with the RFC example`, () => {
    const creds = deriveScramCredentials('pencil', rfc.hash, { salt: Buffer.from(rfc.salt, 'base64') });
    const users = (u: string) => (u === 'user' ? creds : undefined);
    const mech = () => scramMechanism(rfc.hash, users, { nonce: () => rfc.serverNonce });

    it('answers with exactly the RFC server messages', () => {
      expect(mech().name).toBe(`SCRAM-${rfc.hash}`);
      expect(mech().needsTls).toBe(false);
      const ex = mech().start();
      expect(challenge(ex, rfc.clientFirst)).toBe(rfc.serverFirst);
      const done = ex.step(b(rfc.clientFinal));
      expect(done).toEqual({ kind: 'success', username: 'user', data: b(rfc.serverFinal) });
    });

    it('derives the same credentials asynchronously', async () => {
      expect(await deriveScramCredentialsAsync('pencil', rfc.hash, { salt: Buffer.from(rfc.salt, 'base64') })).toEqual(creds);
      expect(creds.iterations).toBe(4096);
    });

    it('asks for the client-first message with an empty challenge when there is no initial response', () => {
      const ex = mech().start();
      expect(challenge(ex, '')).toBe('');
      expect(challenge(ex, rfc.clientFirst)).toBe(rfc.serverFirst);
      expect(ex.step(b(rfc.clientFinal)).kind).toBe('success');
    });

    it('refuses a wrong proof with not-authorized', () => {
      const ex = mech().start();
      challenge(ex, rfc.clientFirst);
      const bad = rfc.clientFinal.replace(/p=./, (m) => (m.endsWith('A') ? 'p=B' : 'p=A'));
      expect(failureOf(() => ex.step(b(bad))).condition).toBe('not-authorized');
      // The exchange is over once it failed.
      expect(failureOf(() => ex.step(b(rfc.clientFinal))).condition).toBe('malformed-request');
    });

    it('refuses the right proof for a user it does not know, only at the final step, with a stable salt', () => {
      const forUnknown = scramMechanism(rfc.hash, () => undefined, { nonce: () => rfc.serverNonce });
      const first = challenge(forUnknown.start(), 'n,,n=nobody,r=abc');
      expect(first).toMatch(/^r=abc.+,s=[A-Za-z0-9+/=]+,i=4096$/);
      // Asking again gives the same salt: nothing tells an unknown user from a known one.
      expect(challenge(forUnknown.start(), 'n,,n=nobody,r=abc')).toBe(first);
      const ex = forUnknown.start();
      challenge(ex, rfc.clientFirst);
      expect(failureOf(() => ex.step(b(rfc.clientFinal))).condition).toBe('not-authorized');
    });

    it('accepts y,, (client could bind, server does not offer -PLUS)', () => {
      const ex = mech().start();
      const clientFirst = rfc.clientFirst.replace(/^n,,/, 'y,,');
      const serverFirst = challenge(ex, clientFirst);
      expect(serverFirst).toBe(rfc.serverFirst);
      const final = clientFinal(rfc.hash, 'pencil', 'y,,', clientFirst.slice(3), serverFirst);
      expect(ex.step(b(final)).kind).toBe('success');
    });
  });
}

describe('SCRAM client-first checks', () => {
  const creds = deriveScramCredentials('pencil', 'SHA-1', { iterations: 4096 });
  const users = new Map<string, ScramCredentials>([['user', creds], ['a,b=c', creds]]);
  const mech = scramMechanism('SHA-1', (u) => users.get(u));
  const first = (msg: string) => () => mech.start().step(b(msg));

  it.each([
    ['channel binding asked for', 'p=tls-unique,,n=user,r=abc'],
    ['bad gs2 flag', 'x,,n=user,r=abc'],
    ['no username', 'n,,r=abc'],
    ['empty username', 'n,,n=,r=abc'],
    ['no nonce', 'n,,n=user'],
    ['nonce with a bad character', 'n,,n=user,r=ab\x01c'],
    ['unescaped =', 'n,,n=us=er,r=abc'],
    ['mandatory extension', 'n,,m=ext,n=user,r=abc'],
    ['garbage', 'hello'],
  ])('%s → malformed-request', (_why, msg) => {
    expect(failureOf(first(msg)).condition).toBe('malformed-request');
  });

  it('invalid UTF-8 → malformed-request', () => {
    const bytes = Buffer.concat([b('n,,n=us'), Buffer.from([0xff, 0xfe]), b(',r=abc')]);
    expect(failureOf(() => mech.start().step(bytes)).condition).toBe('malformed-request');
  });

  it('decodes =2C and =3D in the username', () => {
    expect(challenge(mech.start(), 'n,,n=a=2Cb=3Dc,r=abc')).toMatch(new RegExp(`^r=abc[^,]+,s=${creds.salt.replace(/[+/]/g, '\\$&')},i=4096$`));
  });

  it('accepts an authzid that is the user or one of its JIDs, refuses another', () => {
    expect(challenge(mech.start(), 'n,a=user,n=user,r=abc')).toMatch(/^r=abc/);
    expect(challenge(mech.start(), 'n,a=user@localhost,n=user,r=abc')).toMatch(/^r=abc/);
    expect(failureOf(first('n,a=admin,n=user,r=abc')).condition).toBe('invalid-authzid');
    expect(failureOf(first('n,a=userx@localhost,n=user,r=abc')).condition).toBe('invalid-authzid');
  });
});

describe('SCRAM client-final checks', () => {
  const ex = () => {
    const creds = deriveScramCredentials('pencil', 'SHA-1', { salt: Buffer.from(RFC5802.salt, 'base64') });
    const e = scramMechanism('SHA-1', () => creds, { nonce: () => RFC5802.serverNonce }).start();
    challenge(e, RFC5802.clientFirst);
    return e;
  };
  const finalFails = (msg: string) => failureOf(() => ex().step(b(msg))).condition;

  it.each([
    ['wrong nonce', RFC5802.clientFinal.replace('3rfc', '4rfc')],
    ['channel binding not matching the gs2 header', RFC5802.clientFinal.replace('c=biws', 'c=eSws')],
    ['channel binding not base64', RFC5802.clientFinal.replace('c=biws', 'c=b!ws')],
    ['no proof', 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j'],
    ['proof not base64', RFC5802.clientFinal.replace(/p=.*/, 'p=@@@@')],
    ['attributes out of order', 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,c=biws,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts='],
    ['empty', ''],
  ])('%s → malformed-request', (_why, msg) => {
    expect(finalFails(msg)).toBe('malformed-request');
  });

  it('a proof of the wrong length → not-authorized', () => {
    expect(finalFails(RFC5802.clientFinal.replace(/p=.*/, 'p=AAAA'))).toBe('not-authorized');
  });
});

describe('SCRAM-SHA-1 against an independent client (sasl-scram-sha-1, used by @xmpp/client)', () => {
  // CommonJS without types: loaded through require, driven through its documented surface.
  const require = createRequire(import.meta.url);
  const ClientMechanism = require('sasl-scram-sha-1') as new () => {
    response(cred: { username: string; password: string; authzid?: string }): string | Promise<string>;
    challenge(chal: string): unknown;
    _serverSignature?: Uint8Array;
    _verifier?: string;
  };

  async function login(password: string, authzid?: string) {
    const creds = deriveScramCredentials('correct horse', 'SHA-1');
    const server = scramMechanism('SHA-1', (u) => (u === 'alice' ? creds : undefined)).start();
    const client = new ClientMechanism();
    const cred = { username: 'alice', password, ...(authzid ? { authzid } : {}) };
    const first = server.step(b(await client.response(cred)));
    if (first.kind !== 'challenge') throw new Error('expected a challenge');
    client.challenge(first.data.toString('utf8'));
    const final = server.step(b(await client.response(cred)));
    return { final, client };
  }

  it('logs in, and the v= we send is the signature the client expects', async () => {
    const { final, client } = await login('correct horse');
    expect(final.kind).toBe('success');
    if (final.kind !== 'success') return;
    expect(final.username).toBe('alice');
    // The package does not check v= itself; compare with the signature it computed.
    client.challenge(final.data!.toString('utf8'));
    expect(client._verifier).toBe(Buffer.from(client._serverSignature!).toString('base64'));
  });

  it('logs in with an authzid that is the bare JID', async () => {
    expect((await login('correct horse', 'alice@localhost')).final.kind).toBe('success');
  });

  it('refuses the wrong password', async () => {
    await expect(login('wrong horse')).rejects.toMatchObject({ condition: 'not-authorized' });
  });
});
