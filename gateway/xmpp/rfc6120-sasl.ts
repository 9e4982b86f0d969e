// SASL negotiation on a c2s stream (RFC 6120 §6; RFC 6120 §6.4.5 retries; RFC 5802 SCRAM
// success carries v=). Mechanisms come from ./sasl; this file speaks the XML and limits tries.
// COMPAT(pidgin): SCRAM <success> must carry the base64 v= (empty success = "Invalid challenge").
import type { Logger } from 'pino';
import type { LoginRateLimiter } from './login-rate-limit.js';
import { SaslFailure, type SaslCondition, type SaslExchange, type SaslMechanism } from './sasl/mechanism.js';
import { Element, x } from './xml/element.js';

export const SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl';

/**
 * Failures are counted per account and client address: guessing one account's password slows down
 * that account from that address, and never locks another account (or the same one elsewhere) out.
 * The port is not part of the address, or every new connection would start from zero.
 */
function rateKey(username: string | undefined, remote: string): string {
  return `${(username ?? '').toLowerCase()}\0${remote.replace(/:[^:]*$/, '')}`;
}

export interface SaslOptions {
  mechanisms: SaslMechanism[];
  limiter: LoginRateLimiter;
  allowPlainWithoutTls: boolean;
  /** Failed attempts on one stream before it is closed. */
  maxFailuresPerStream: number;
  log: Logger;
  /** (Additive) The client's address ("host:port"), for the rate limit; default "memory". */
  remote?: string;
}

export type SaslOutcome =
  | { kind: 'continue' }
  | { kind: 'success'; username: string }
  /** Too many failures on this stream: close it. */
  | { kind: 'close' };

/** SASL state for one stream. */
export class SaslNegotiation {
  private exchange: SaslExchange | undefined;
  private failures = 0;

  constructor(private readonly opts: SaslOptions) {}

  offered(secure: boolean): SaslMechanism[] {
    return this.opts.mechanisms.filter((m) => secure || !m.needsTls || this.opts.allowPlainWithoutTls);
  }

  features(secure: boolean): Element | undefined {
    const mechs = this.offered(secure);
    if (mechs.length === 0) return undefined;
    return x('mechanisms', { xmlns: SASL_NS }, ...mechs.map((m) => x('mechanism', null, m.name)));
  }

  get inProgress(): boolean {
    return this.exchange !== undefined;
  }

  /** Handles <auth/>, <response/>, <abort/>; sends what the client gets through `send`. */
  handle(el: Element, secure: boolean, send: (el: Element) => void): SaslOutcome {
    if (el.name === 'abort') {
      this.exchange = undefined;
      send(failure('aborted'));
      return { kind: 'continue' };
    }
    let message: Buffer;
    try {
      message = decode(el.text());
    } catch {
      this.exchange = undefined;
      send(failure('incorrect-encoding'));
      return { kind: 'continue' };
    }
    if (el.name === 'auth') {
      const mech = this.offered(secure).find((m) => m.name === el.attrs.mechanism);
      if (!mech) {
        send(failure('invalid-mechanism'));
        return { kind: 'continue' };
      }
      // Checked once the username is known, before any credential is looked at.
      const admit = (username: string): void => {
        const locked = this.opts.limiter.check(rateKey(username, this.remote));
        if (!locked.allowed) throw new SaslFailure('temporary-auth-failure', `too many failed logins; retry in ${Math.ceil(locked.retryAfterMs / 1000)} s`);
      };
      this.exchange = mech.start({ admit });
    } else if (el.name === 'response') {
      if (!this.exchange) {
        send(failure('malformed-request', 'no authentication in progress'));
        return { kind: 'continue' };
      }
    } else {
      send(failure('malformed-request'));
      return { kind: 'continue' };
    }
    return this.step(message, send);
  }

  private get remote(): string {
    return this.opts.remote ?? 'memory';
  }

  private step(message: Buffer, send: (el: Element) => void): SaslOutcome {
    const exchange = this.exchange!;
    try {
      const step = exchange.step(message);
      if (step.kind === 'challenge') {
        send(x('challenge', { xmlns: SASL_NS }, encode(step.data)));
        return { kind: 'continue' };
      }
      this.exchange = undefined;
      this.opts.limiter.recordSuccess(rateKey(step.username, this.remote));
      send(x('success', { xmlns: SASL_NS }, step.data && step.data.length > 0 ? step.data.toString('base64') : undefined));
      return { kind: 'success', username: step.username };
    } catch (err) {
      this.exchange = undefined;
      const f = err instanceof SaslFailure ? err : undefined;
      if (!f) this.opts.log.error({ err }, 'SASL mechanism failed');
      const condition: SaslCondition = f?.condition ?? 'temporary-auth-failure';
      if (condition !== 'aborted' && condition !== 'temporary-auth-failure') {
        this.opts.limiter.recordFailure(rateKey(exchange.username, this.remote));
        this.failures++;
      }
      this.opts.log.info({ condition, failures: this.failures }, 'authentication failed');
      send(failure(condition, f?.text));
      return this.failures >= this.opts.maxFailuresPerStream ? { kind: 'close' } : { kind: 'continue' };
    }
  }
}

function failure(condition: SaslCondition, text?: string): Element {
  return x('failure', { xmlns: SASL_NS }, x(condition), text ? x('text', { 'xml:lang': 'en' }, text) : undefined);
}

/** RFC 6120 §6.4.2: empty element = no data, "=" = empty data. Strict base64 only. */
function decode(text: string): Buffer {
  const t = text.trim();
  if (t === '' || t === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) throw new Error('bad base64');
  return Buffer.from(t, 'base64');
}

function encode(data: Buffer): string {
  return data.length === 0 ? '=' : data.toString('base64');
}
