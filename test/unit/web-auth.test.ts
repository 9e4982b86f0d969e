// The status page's login rules and log tail, on their own: a one-time link works once and expires,
// wrong passwords are throttled, sessions expire, and the log ring stays bounded.
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { SESSION_COOKIE, sessionCookie, WebAuth } from '../../gateway/web/auth.js';
import { LogRing } from '../../gateway/web/log-ring.js';

const withCookie = (session: string): IncomingMessage => ({ headers: { cookie: `a=b; ${SESSION_COOKIE}=${session}` } }) as IncomingMessage;

describe('status page login', () => {
  it('a one-time link logs in once and not after 5 minutes', () => {
    let now = 1_000_000;
    const auth = new WebAuth({ verifyPassword: () => false, now: () => now });
    const link = auth.oneTimeToken();
    const session = auth.redeem(link)!;
    expect(auth.authenticated(withCookie(session))).toBe(true);
    expect(auth.redeem(link)).toBeUndefined();
    const late = auth.oneTimeToken();
    now += 5 * 60_000 + 1;
    expect(auth.redeem(late)).toBeUndefined();
    // Sessions last 12 hours.
    now += 12 * 3600_000;
    expect(auth.authenticated(withCookie(session))).toBe(false);
  });

  it('checks the password, throttles guessing, and logout ends the session', () => {
    let now = 0;
    const auth = new WebAuth({ verifyPassword: (p) => p === 'right', now: () => now });
    expect(auth.login('').result).toBe('wrong');
    for (let i = 0; i < 9; i++) expect(auth.login('guess').result).toBe('wrong');
    expect(auth.login('right').result).toBe('throttled');
    now += 60_000;
    const ok = auth.login('right');
    expect(ok.result).toBe('ok');
    const req = withCookie((ok as { session: string }).session);
    expect(auth.authenticated(req)).toBe(true);
    auth.logout(req);
    expect(auth.authenticated(req)).toBe(false);
    expect(auth.authenticated({ headers: {} } as IncomingMessage)).toBe(false);
  });

  it('the cookie is HttpOnly, Secure and SameSite=Strict', () => {
    expect(sessionCookie('x')).toMatch(/HttpOnly; Secure; SameSite=Strict/);
  });
});

describe('log ring', () => {
  it('keeps the newest lines only, cut to a bounded length', () => {
    const ring = new LogRing(3);
    for (let i = 0; i < 5; i++) ring.write(JSON.stringify({ time: i, level: 40, msg: `line ${i}`, component: 'web' }));
    ring.write(`not json ${'x'.repeat(5000)}`);
    const tail = ring.tail();
    expect(tail.map((l) => l.msg.slice(0, 10))).toEqual(['line 3', 'line 4', 'not json x']);
    expect(tail[0]).toMatchObject({ level: 'warn', component: 'web', time: 3 });
    expect(tail[2]!.msg.length).toBe(2000);
  });
});
