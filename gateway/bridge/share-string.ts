// Shareable contact strings `tlsim://<fingerprint>@<host>:<port>` and peer addresses ("host:port", "host port").
// Strict on purpose: these strings are copied by hand, pasted from chats and read from QR codes, and a
// typo must fail here with a reason rather than become a contact we dial forever.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export const SHARE_SCHEME = 'tlsim://';

export class ShareStringError extends Error {
  constructor(reason: string) {
    super(`not a tlsim share string: ${reason}`);
    this.name = 'ShareStringError';
  }
}

export class AddressError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`not a peer address (${JSON.stringify(input.slice(0, 80))}): ${reason}`);
    this.name = 'AddressError';
  }
}

export interface PeerAddress {
  /** IPv4, IPv6 (without brackets), a lowercase DNS name or a lowercase v3 `.onion` name. */
  readonly host: string;
  readonly port: number;
}

export interface ShareString extends PeerAddress {
  /** 64 lowercase hex characters. */
  readonly fingerprint: string;
}

const FINGERPRINT = /^[0-9a-f]{64}$/;
const ONION_V3 = /^[a-z2-7]{56}\.onion$/;
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function isFingerprint(s: string): boolean {
  return FINGERPRINT.test(s);
}

export function formatShareString(s: ShareString): string {
  // Parse what we would print, so we never hand out a string that parseShareString() rejects.
  const text = `${SHARE_SCHEME}${s.fingerprint}@${formatAddress(s)}`;
  parseShareString(text);
  return text;
}

export function parseShareString(input: string): ShareString {
  const s = input.trim();
  if (s.slice(0, SHARE_SCHEME.length).toLowerCase() !== SHARE_SCHEME) {
    throw new ShareStringError(`it must start with ${SHARE_SCHEME}`);
  }
  const rest = s.slice(SHARE_SCHEME.length);
  const at = rest.indexOf('@');
  if (at < 0) throw new ShareStringError('missing "@" between the fingerprint and the address');
  const fingerprint = rest.slice(0, at).toLowerCase();
  if (!isFingerprint(fingerprint)) throw new ShareStringError('fingerprint must be 64 hex characters');
  const hostPort = rest.slice(at + 1);
  const colon = hostPort.lastIndexOf(':');
  if (colon < 0) throw new ShareStringError('missing ":port" after the host');
  const hostPart = hostPort.slice(0, colon);
  if (!hostPart.startsWith('[') && hostPart.includes(':')) {
    throw new ShareStringError('an IPv6 address needs brackets: [addr]:port');
  }
  try {
    const host = parseHost(hostPart, true);
    const port = parsePort(hostPort.slice(colon + 1));
    return { fingerprint, host, port };
  } catch (err) {
    if (err instanceof AddressError) throw new ShareStringError(err.reason);
    throw err;
  }
}

/**
 * "host:port" (ours, `[v6]:port` for IPv6) or "host port" (the reference's `address` file and
 * `connect` FIFO). Surrounding whitespace, including the file's final newline, is ignored.
 */
export function parseAddress(input: string): PeerAddress {
  const s = input.trim();
  let hostPart: string;
  let portPart: string;
  let bracketed: boolean;
  const space = s.search(/\s/);
  if (space >= 0) {
    hostPart = s.slice(0, space);
    portPart = s.slice(space).trim();
    // The reference writes IPv6 unbracketed in "host port"; accept brackets too.
    bracketed = hostPart.startsWith('[');
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new AddressError(input, 'expected "host:port" or "host port"');
    hostPart = s.slice(0, colon);
    portPart = s.slice(colon + 1);
    bracketed = true;
    if (!hostPart.startsWith('[') && hostPart.includes(':')) {
      throw new AddressError(input, 'an IPv6 address needs brackets: [addr]:port');
    }
  }
  try {
    return { host: parseHost(hostPart, bracketed), port: parsePort(portPart) };
  } catch (err) {
    if (err instanceof AddressError) throw new AddressError(input, err.reason);
    throw err;
  }
}

/** "host:port", IPv6 in brackets: what we show users and put in share strings. */
export function formatAddress(a: PeerAddress): string {
  return isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** "host port": the line the reference's `address` file and `connect` FIFO expect. */
export function formatReferenceAddress(a: PeerAddress): string {
  return `${a.host} ${a.port}`;
}

/**
 * A host as peers write it: IPv4, IPv6 (brackets optional), a DNS name or a v3 onion name; DNS and
 * onion names are lowercased. Throws AddressError with the reason.
 */
export function normalizeHost(raw: string): string {
  return parseHost(raw.trim(), true);
}

function parsePort(s: string): number {
  if (!/^[0-9]{1,5}$/.test(s)) throw new AddressError(s, 'port must be a number from 1 to 65535');
  const port = Number(s);
  if (port < 1 || port > 65535) throw new AddressError(s, 'port must be a number from 1 to 65535');
  return port;
}

function parseHost(raw: string, bracketsAllowed: boolean): string {
  if (raw === '') throw new AddressError(raw, 'host is empty');
  if (raw.startsWith('[') || raw.endsWith(']')) {
    const inner = raw.slice(1, -1);
    if (!bracketsAllowed || !raw.startsWith('[') || !raw.endsWith(']') || !isIPv6(inner)) {
      throw new AddressError(raw, 'brackets must hold an IPv6 address');
    }
    return inner.toLowerCase();
  }
  if (isIPv6(raw)) return raw.toLowerCase();
  if (/^[0-9.]+$/.test(raw)) {
    if (!isIPv4(raw)) throw new AddressError(raw, `"${raw}" is not a valid IPv4 address`);
    return raw;
  }
  // Host names are case-insensitive; lowercase keeps one spelling per peer address.
  const host = raw.toLowerCase();
  if (host.endsWith('.onion')) return checkOnion(host);
  if (host.length > 253 || !host.split('.').every((l) => DNS_LABEL.test(l))) {
    throw new AddressError(raw, `"${raw.slice(0, 80)}" is not a valid host name`);
  }
  return host;
}

/** Tor v3 onion names carry a checksum (rend-spec-v3 §6): checking it catches a mistyped character. */
function checkOnion(host: string): string {
  if (!ONION_V3.test(host)) {
    const label = host.slice(0, -'.onion'.length);
    throw new AddressError(
      host,
      label.length === 16
        ? 'v2 onion addresses (16 characters) no longer work in Tor; ask for the 56-character v3 address'
        : 'an onion address must be 56 characters of a-z and 2-7 before ".onion"',
    );
  }
  const bytes = base32Decode(host.slice(0, 56));
  const pubkey = bytes.subarray(0, 32);
  const checksum = bytes.subarray(32, 34);
  const version = bytes.subarray(34, 35);
  const expected = createHash('sha3-256')
    .update(Buffer.from('.onion checksum'))
    .update(pubkey)
    .update(version)
    .digest()
    .subarray(0, 2);
  if (version[0] !== 3 || !expected.equals(checksum)) {
    throw new AddressError(host, 'the onion address checksum is wrong (a character was mistyped?)');
  }
  return host;
}

function base32Decode(s: string): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of s) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
