// Value checkers for config keys: each takes a TOML value (typed) or an environment/flag string (text) and
// returns the checked value or throws Invalid with a reason a user can act on.
import { isIP } from 'node:net';
import { AddressError, formatAddress, normalizeHost, parseAddress } from '../bridge/share-string.js';

/** A rejected value; the loader adds the key name and where the value came from. */
export class Invalid extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Invalid';
  }
}

/** Checks one value. `text` is true for environment variables and flags, which are always strings. */
export type Check<T> = (value: unknown, text: boolean) => T;

export function show(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'a table';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function integer(min: number, max: number): Check<number> {
  return (v, text) => {
    const n = text && typeof v === 'string' && /^-?[0-9]+$/.test(v.trim()) ? Number(v.trim()) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new Invalid(`must be an integer from ${min} to ${max}, got ${show(v)}`);
    }
    return n;
  };
}

export const port: Check<number> = integer(0, 65535);

const TRUE = ['true', 'yes', 'on', '1'];
const FALSE = ['false', 'no', 'off', '0'];

export const boolean: Check<boolean> = (v, text) => {
  if (typeof v === 'boolean') return v;
  if (text && typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.includes(s)) return true;
    if (FALSE.includes(s)) return false;
  }
  throw new Invalid(`must be true or false, got ${show(v)}`);
};

/**
 * One of `values`. `later` lists values a future version will accept, with the reason they are refused
 * now, so a user who read newer documentation learns it is the version, not a typo.
 */
export function oneOf<T extends string>(values: readonly T[], later: Readonly<Record<string, string>> = {}): Check<T> {
  return (v) => {
    if (typeof v === 'string') {
      const s = v.trim();
      if ((values as readonly string[]).includes(s)) return s as T;
      // Own keys only: "constructor" or "toString" must not find Object.prototype's.
      if (Object.hasOwn(later, s)) throw new Invalid(`${JSON.stringify(s)} is not available yet: ${later[s]}`);
    }
    throw new Invalid(`must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${show(v)}`);
  };
}

function string(v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(`must be a string, got ${show(v)}`);
  return v.trim();
}

/** An address to listen on: an IP address or a host name ("localhost"); IPv6 without brackets. */
export const listenHost: Check<string> = (v) => {
  const s = string(v);
  try {
    return normalizeHost(s);
  } catch (err) {
    if (err instanceof AddressError) throw new Invalid(`must be an IP address or host name to listen on: ${err.reason}`);
    throw err;
  }
};

/** A host others can reach us at: IP address, DNS name or v3 onion name. */
export const reachableHost: Check<string> = (v) => {
  const s = string(v);
  try {
    return normalizeHost(s);
  } catch (err) {
    if (err instanceof AddressError) throw new Invalid(err.reason);
    throw err;
  }
};

/**
 * Where a running tor's control port is: "host:port" (TCP, usually 127.0.0.1:9051) or an absolute
 * Unix socket path (Debian's system tor: /run/tor/control).
 */
export const torControlEndpoint: Check<string> = (v) => {
  const s = string(v);
  if (s.startsWith('/')) return s;
  try {
    return formatAddress(parseAddress(s));
  } catch (err) {
    if (err instanceof AddressError) {
      throw new Invalid(
        `must be "host:port" (e.g. "127.0.0.1:9051") or an absolute Unix socket path (e.g. "/run/tor/control"): ${err.reason}`,
      );
    }
    throw err;
  }
};

/** A file path, or "" for none. Secrets live in files; the config names the file, never the secret. */
export const optionalPath: Check<string> = (v) => {
  const s = string(v);
  if (s.includes('\0')) throw new Invalid('must be a file path');
  return s;
};

/** An XMPP domain (RFC 7622 domainpart) as we serve it: a DNS name or IPv4 address, lowercased. */
/** A secret's text: any printable characters; never echoed in an error. */
export const secretText: Check<string> = (v) => {
  if (typeof v !== 'string') throw new Invalid('must be a string');
  if (/[\u0000-\u001f]/.test(v)) throw new Invalid('must be one line of printable characters');
  return v;
};

export const domain: Check<string> = (v) => {
  const s = string(v);
  if (isIP(s) === 6 || s.startsWith('[')) throw new Invalid('must be a DNS name such as "localhost", not an IPv6 address');
  try {
    return normalizeHost(s);
  } catch (err) {
    if (err instanceof AddressError) throw new Invalid(`must be a domain name such as "localhost": ${err.reason}`);
    throw err;
  }
};

/**
 * An XMPP localpart (RFC 7622 §3.3): no separators, spaces or controls. Lowercased (PRECIS
 * UsernameCaseMapped) so "Me" in the file and "me" typed into Pidgin are the same user.
 */
export const localpart: Check<string> = (v) => {
  const s = string(v).normalize('NFC').toLowerCase();
  if (s === '') throw new Invalid('must not be empty');
  if (Buffer.byteLength(s) > 1023) throw new Invalid('must be at most 1023 bytes');
  const bad = /[\s"&'/:<>@\p{Cc}]/u.exec(s);
  if (bad) throw new Invalid(`must not contain ${JSON.stringify(bad[0])} (not allowed before the @ of a JID)`);
  return s;
};

/** A browser origin ("https://chat.example.org"): what a WebSocket client's Origin header carries. */
export const origin: Check<string> = (v) => {
  const s = string(v);
  if (s === '*') {
    throw new Invalid('"*" is not allowed: any web page could then connect to your account; list the origins you use');
  }
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== s.replace(/\/$/, '')) {
    throw new Invalid(`${show(s)} is not an origin like "https://chat.example.org" (scheme, host, optional port; no path)`);
  }
  return url.origin;
};

/** A list; from the environment or a flag it is comma-separated ("a,b"), an empty string being []. */
export function list<T>(item: Check<T>): Check<T[]> {
  return (v, text) => {
    const items =
      text && typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v;
    if (!Array.isArray(items)) throw new Invalid(`must be a list, got ${show(v)}`);
    return items.map((x, i) => {
      try {
        return item(x, text);
      } catch (err) {
        if (err instanceof Invalid) throw new Invalid(`item ${i + 1}: ${err.message}`);
        throw err;
      }
    });
  };
}

/** Edit distance, for "did you mean" suggestions on unknown keys. */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within a few edits, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
