// PLAIN server (RFC 4616): message parsing, authzid rules, failures; and an independent
// client encoding (the `sasl-plain` package @xmpp/client uses).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { plainMechanism } from '../../gateway/xmpp/sasl/plain.js';
import { failureOf } from '../support/sasl.js';

const verify = (u: string, p: string) => u === 'alice' && p === 'secret pass';
const mech = plainMechanism(verify);

describe('PLAIN', () => {
  it('is named PLAIN and needs TLS', () => {
    expect(mech.name).toBe('PLAIN');
    expect(mech.needsTls).toBe(true);
  });

  it('logs in without and with an authzid', () => {
    expect(mech.start().step(Buffer.from('\0alice\0secret pass'))).toEqual({ kind: 'success', username: 'alice' });
    expect(mech.start().step(Buffer.from('alice\0alice\0secret pass')).kind).toBe('success');
    expect(mech.start().step(Buffer.from('alice@localhost\0alice\0secret pass')).kind).toBe('success');
  });

  it('asks for the message with an empty challenge when there is no initial response', () => {
    const ex = mech.start();
    expect(ex.step(Buffer.alloc(0))).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(ex.step(Buffer.from('\0alice\0secret pass')).kind).toBe('success');
  });

  it('wrong password or unknown user → not-authorized, without the password in the text', () => {
    const f = failureOf(() => mech.start().step(Buffer.from('\0alice\0guess')));
    expect(f.condition).toBe('not-authorized');
    expect(f.message).not.toContain('guess');
    expect(failureOf(() => mech.start().step(Buffer.from('\0bob\0secret pass'))).condition).toBe('not-authorized');
  });

  it('another authzid → invalid-authzid', () => {
    expect(failureOf(() => mech.start().step(Buffer.from('root\0alice\0secret pass'))).condition).toBe('invalid-authzid');
  });

  it.each([
    ['no NUL', 'alice secret'],
    ['one NUL', 'alice\0secret pass'],
    ['three NULs', '\0alice\0secret\0pass'],
    ['empty authcid', '\0\0secret pass'],
    ['empty password', '\0alice\0'],
    ['empty after asking once', ''],
  ])('%s → malformed-request', (_why, msg) => {
    const ex = mech.start();
    if (msg === '') ex.step(Buffer.alloc(0));
    expect(failureOf(() => ex.step(Buffer.from(msg))).condition).toBe('malformed-request');
  });

  it('invalid UTF-8 → malformed-request', () => {
    const bytes = Buffer.concat([Buffer.from('\0ali'), Buffer.from([0xc3, 0x28]), Buffer.from('\0secret pass')]);
    expect(failureOf(() => mech.start().step(bytes)).condition).toBe('malformed-request');
  });

  it('passes UTF-8 usernames and passwords through to the verifier', () => {
    const m = plainMechanism((u, p) => u === 'jürgen' && p === 'pässwörd');
    expect(m.start().step(Buffer.from('\0jürgen\0pässwörd', 'utf8')).kind).toBe('success');
  });

  it('the exchange is over after success', () => {
    const ex = mech.start();
    ex.step(Buffer.from('\0alice\0secret pass'));
    expect(failureOf(() => ex.step(Buffer.from('\0alice\0secret pass'))).condition).toBe('malformed-request');
  });

  it('accepts what an independent client (sasl-plain, used by @xmpp/client) sends', () => {
    const require = createRequire(import.meta.url);
    const Client = require('sasl-plain') as new () => { response(c: object): string };
    const msg = new Client().response({ username: 'alice', password: 'secret pass', authzid: 'alice@localhost' });
    expect(mech.start().step(Buffer.from(msg, 'utf8'))).toEqual({ kind: 'success', username: 'alice' });
  });
});
