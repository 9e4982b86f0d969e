// Fuzzing SASL on the c2s stream (RFC 6120 §6, RFC 5802/7677 SCRAM, RFC 4616 PLAIN, RFC 4013 SASLprep;
// gateway/xmpp/sasl/*, gateway/xmpp/rfc6120-sasl.ts): garbage in any message only ever gives a SaslFailure (or an
// RFC 6120 <failure/>), a correct client always logs in whatever its user name, and a wrong proof never does.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import type { Logger } from 'pino';
import { LoginRateLimiter } from '../../gateway/xmpp/login-rate-limit.js';
import { SaslNegotiation } from '../../gateway/xmpp/rfc6120-sasl.js';
import { SaslFailure, saslprepLite, type SaslExchange, type SaslStep } from '../../gateway/xmpp/sasl/mechanism.js';
import { plainMechanism } from '../../gateway/xmpp/sasl/plain.js';
import { deriveScramCredentials, scramMechanism, type ScramHash } from '../../gateway/xmpp/sasl/scram.js';
import { x } from '../../gateway/xmpp/xml/element.js';
import { fuzzTarget, tokenBytes } from './support.js';

const ITERATIONS = 2; // the server's cost does not depend on it; the test client's pbkdf2 does
const NODE: Record<ScramHash, [string, number]> = { 'SHA-1': ['sha1', 20], 'SHA-256': ['sha256', 32] };

/** Steps `ex` and returns the step or the SaslFailure; any other error fails the property. */
function step(ex: SaslExchange, msg: Buffer): SaslStep | SaslFailure {
  try {
    return ex.step(msg);
  } catch (err) {
    if (err instanceof SaslFailure) return err;
    throw err;
  }
}

// User names and passwords as people type them: ASCII, SCRAM's own separators, and what SASLprep maps.
const typed = fc.string({
  unit: fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...'abcXYZ019 .-_@/') },
    { weight: 3, arbitrary: fc.constantFrom(',', '=', '=2C', '=3D', '\u00a0', '\u00ad', '\u200b', 'ﬁ', 'Å', 'A\u030a', 'ｶ', '①', '\u0000', '\u007f', 'é', '😀') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 16,
});
const nonce = fc.stringMatching(/^[\x21-\x2B\x2D-\x7E]{1,24}$/);
const saslname = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

function clientFinal(hash: ScramHash, password: string, gs2: string, bare: string, serverFirst: string): { final: string; serverSignature: string } {
  const [h, len] = NODE[hash];
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = pbkdf2Sync(saslprepLite(password)!, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), len, h);
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${attrs.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac(h, createHash(h).update(clientKey).digest()).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverKey = createHmac(h, salted).update('Server Key').digest();
  return {
    final: `${withoutProof},p=${proof.toString('base64')}`,
    serverSignature: createHmac(h, serverKey).update(authMessage).digest('base64'),
  };
}

const SCRAM_TOKENS = ['n', 'y', 'p=tls-unique', ',', '=', 'a=', 'n=', 'r=', 'c=', 'p=', 'm=x', 's=', 'i=', 'user', '=2C', '=3D', '=4', 'biws', 'eSws', 'AAAA', '==', 'é', '\u0000', '\u00a0'];
const scramGarbage = tokenBytes(SCRAM_TOKENS, { maxTokens: 16 });

const PENCIL: Record<ScramHash, ReturnType<typeof deriveScramCredentials>> = {
  'SHA-1': deriveScramCredentials('pencil', 'SHA-1', { iterations: ITERATIONS }),
  'SHA-256': deriveScramCredentials('pencil', 'SHA-256', { iterations: ITERATIONS }),
};

fuzzTarget('sasl', (t) => {
  t.property('SCRAM: any client-first then any client-final gives challenges or SaslFailure, never success', [
    fc.constantFrom<ScramHash>('SHA-1', 'SHA-256'),
    fc.oneof(scramGarbage, fc.tuple(fc.constantFrom('n,,', 'y,,', 'n,a=user,', 'p=x,,'), scramGarbage).map(([h, rest]) => Buffer.concat([Buffer.from(h), rest]))),
    fc.oneof(scramGarbage, scramGarbage.map((g) => Buffer.concat([Buffer.from('c=biws,r='), g]))),
  ], (hash, first, final) => {
    const ex = scramMechanism(hash, (u) => (u === 'user' ? PENCIL[hash] : undefined)).start();
    const a = step(ex, first);
    if (a instanceof SaslFailure) return step(ex, final) instanceof SaslFailure; // the exchange is over
    if (a.kind !== 'challenge') return false;
    const b = step(ex, final);
    // An empty first message asks for one; else the server-first names the nonce, salt and count.
    return first.length === 0 ? a.data.length === 0 : /^r=[\x21-\x2B\x2D-\x7E]+,s=[A-Za-z0-9+/=]+,i=\d+$/.test(a.data.toString()) && b instanceof SaslFailure;
  }, { runs: 1000 });

  t.property('SCRAM: a correct client logs in whatever its user name; a changed proof or nonce never does', [
    fc.constantFrom<ScramHash>('SHA-1', 'SHA-256'),
    typed,
    typed.filter((p) => p !== '' && saslprepLite(p) !== undefined),
    nonce,
    fc.constantFrom('n', 'y'),
    fc.nat(),
    fc.constantFrom('none', 'proof', 'nonce'),
  ], (hash, name, password, clientNonce, flag, bit, tamper) => {
    const user = saslprepLite(name);
    const creds = deriveScramCredentials(password, hash, { iterations: ITERATIONS });
    const ex = scramMechanism(hash, (u) => (u === user ? creds : undefined)).start();
    const gs2 = `${flag},,`;
    const bare = `n=${saslname(name)},r=${clientNonce}`;
    const first = step(ex, Buffer.from(gs2 + bare));
    if (!user) return first instanceof SaslFailure && first.condition === 'malformed-request';
    if (first instanceof SaslFailure || first.kind !== 'challenge') return false;
    const serverFirst = first.data.toString();
    if (!serverFirst.startsWith(`r=${clientNonce}`)) return false;
    let { final, serverSignature } = clientFinal(hash, password, gs2, bare, serverFirst);
    if (tamper === 'proof') {
      const p = Buffer.from(final.slice(final.indexOf(',p=') + 3), 'base64');
      p[bit % p.length]! ^= 1 << bit % 8;
      final = `${final.slice(0, final.indexOf(',p=') + 3)}${p.toString('base64')}`;
    } else if (tamper === 'nonce') {
      final = final.replace(',r=', ',r=x');
    }
    const done = step(ex, Buffer.from(final));
    if (tamper !== 'none') return done instanceof SaslFailure && ['not-authorized', 'malformed-request'].includes(done.condition);
    return !(done instanceof SaslFailure) && done.kind === 'success' && done.username === user && done.data?.toString() === `v=${serverSignature}`;
  }, { runs: 800 });

  t.property('PLAIN: any bytes give success or SaslFailure; a well-formed one checks the prepared name', [
    fc.oneof(tokenBytes(['\u0000', 'me', 'pw', 'me@localhost', 'é', '\u00a0', 'ﬁ', '\u0001'], { maxTokens: 10 }), fc.tuple(typed, typed, typed).map(([a, b, c]) => Buffer.from(`${a}\0${b}\0${c}`))),
  ], (msg) => {
    const seen: Array<[string, string]> = [];
    const ex = plainMechanism((u, p) => (seen.push([u, p]), true)).start();
    const r = step(ex, msg);
    if (r instanceof SaslFailure) return seen.length === 0 || r.condition === 'not-authorized';
    if (msg.length === 0) return r.kind === 'challenge';
    const [authzid, authcid, passwd] = msg.toString('utf8').split('\0') as [string, string, string];
    const user = saslprepLite(authcid);
    return r.kind === 'success' && r.username === user && seen.length === 1 && seen[0]![0] === user && seen[0]![1] === passwd &&
      (authzid === '' || authzid === user || authzid.startsWith(`${user}@`));
  }, { runs: 2000 });

  t.property('SASLprep is idempotent, and never lets a control character through', [typed], (s) => {
    const once = saslprepLite(s);
    return once === undefined || (saslprepLite(once) === once && !/[\u0000-\u001F\u007F-\u009F]/.test(once));
  }, { runs: 2000 });

  const noLog = { info() {}, error() { throw new Error('a mechanism failed with something other than SaslFailure'); } } as unknown as Logger;
  t.property('<auth>/<response> with any text: one answer each, bad base64 is incorrect-encoding, never a throw', [
    fc.array(
      fc.tuple(
        fc.constantFrom('auth', 'response', 'abort', 'challenge'),
        fc.constantFrom('PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'X'),
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...'AZaz09+/= \n\t=é-_'), maxLength: 24 }),
          fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString('base64')),
          fc.constant(Buffer.from('\0me\0pencil').toString('base64')),
        ),
      ),
      { minLength: 1, maxLength: 5 },
    ),
  ], (elements) => {
    const sasl = new SaslNegotiation({
      mechanisms: [scramMechanism('SHA-1', () => PENCIL['SHA-1']), plainMechanism((u, p) => u === 'me' && p === 'pencil')],
      limiter: new LoginRateLimiter(),
      allowPlainWithoutTls: true,
      maxFailuresPerStream: 100,
      log: noLog,
    });
    return elements.every(([name, mechanism, text]) => {
      const sent: string[] = [];
      sasl.handle(x(name, name === 'auth' ? { mechanism } : {}, text), false, (el) => sent.push(el.toString()));
      const trimmed = text.trim();
      const base64 = trimmed === '' || trimmed === '=' || (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) && trimmed.length % 4 === 0);
      if (sent.length !== 1) return false;
      if (name !== 'abort' && !base64) return sent[0]!.includes('<incorrect-encoding/>');
      return /^<(failure|challenge|success)[ >/]/.test(sent[0]!);
    });
  }, { runs: 1000 });
});
