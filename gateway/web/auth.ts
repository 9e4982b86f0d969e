// Who may see the status page: a session cookie (HttpOnly, Secure, SameSite=Strict) got by logging in
// with the account password or by a one-time link (`tlsim-gateway open`). Sessions and links live in
// memory only, in bounded maps with expiry: a restart logs everyone out, which is what a user expects.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'tlsim_session';
const SESSION_MS = 12 * 3600_000;
const LINK_MS = 5 * 60_000;
const MAX_SESSIONS = 64;
const MAX_LINKS = 16;
/** Wrong passwords allowed per minute before logins are refused for the rest of that minute. */
const MAX_FAILURES_PER_MINUTE = 10;

function token(): string {
  return randomBytes(24).toString('base64url');
}

/** Insertion-ordered map with a size cap (the oldest goes first) and an expiry per entry. */
class ExpiringSet {
  private readonly items = new Map<string, number>();
  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  add(): string {
    const t = token();
    this.items.set(t, this.now() + this.ttlMs);
    while (this.items.size > this.max) this.items.delete(this.items.keys().next().value!);
    return t;
  }

  has(t: string): boolean {
    const until = this.items.get(t);
    if (until === undefined) return false;
    if (until < this.now()) {
      this.items.delete(t);
      return false;
    }
    return true;
  }

  take(t: string): boolean {
    const ok = this.has(t);
    this.items.delete(t);
    return ok;
  }
}

export interface WebAuthOptions {
  verifyPassword(password: string): boolean;
  now?: () => number;
}

export class WebAuth {
  private readonly now: () => number;
  private readonly sessions: ExpiringSet;
  private readonly links: ExpiringSet;
  private failures: { minute: number; count: number } = { minute: 0, count: 0 };

  constructor(private readonly opts: WebAuthOptions) {
    this.now = opts.now ?? Date.now;
    this.sessions = new ExpiringSet(MAX_SESSIONS, SESSION_MS, this.now);
    this.links = new ExpiringSet(MAX_LINKS, LINK_MS, this.now);
  }

  /** A fresh one-time login token (for the link `tlsim-gateway open` prints). */
  oneTimeToken(): string {
    return this.links.add();
  }

  /** A new session for a valid one-time token (used up), else undefined. */
  redeem(oneTime: string): string | undefined {
    return this.links.take(oneTime) ? this.sessions.add() : undefined;
  }

  /** 'ok' with a new session, 'wrong', or 'throttled' after too many wrong passwords this minute. */
  login(password: string): { result: 'ok'; session: string } | { result: 'wrong' | 'throttled' } {
    const minute = Math.floor(this.now() / 60_000);
    if (this.failures.minute !== minute) this.failures = { minute, count: 0 };
    if (this.failures.count >= MAX_FAILURES_PER_MINUTE) return { result: 'throttled' };
    if (password !== '' && this.opts.verifyPassword(password)) return { result: 'ok', session: this.sessions.add() };
    this.failures.count++;
    return { result: 'wrong' };
  }

  logout(req: IncomingMessage): void {
    const s = sessionOf(req);
    if (s) this.sessions.take(s);
  }

  authenticated(req: IncomingMessage): boolean {
    const s = sessionOf(req);
    return s !== undefined && this.sessions.has(s);
  }
}

/** The Set-Cookie value for a session; Max-Age 0 clears it. */
export function sessionCookie(session: string, maxAgeS = SESSION_MS / 1000): string {
  return `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeS}`;
}

function sessionOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === SESSION_COOKIE && v && /^[A-Za-z0-9_-]{32}$/.test(v)) return v;
  }
  return undefined;
}
