// SOCKS5 CONNECT dialer for Tor (RFC 1928, user/pass RFC 1929, Tor's ExtendedErrors): names go to the proxy, never to our resolver.
//
// Why our own client: the `socks` npm package turns Tor's extended reply codes 0xF0-0xF7 into
// "Socks5 proxy rejected connection - undefined" and drops the byte (research/tor.md §5.1).
// Those codes are the only way to tell a user *why* a peer is unreachable (offline, not yet
// published, bad address, auth needed), and the whole client is a few dozen lines.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { PeerUnreachableError } from '../errors.js';
import { describeSocketError, describeSocksReply } from './errors-map.js';
import { bareHost, checkTimeout, formatAddress, guardDial, type DialTarget, type Dialer } from './types.js';

export { SOCKS5_REPLIES, describeSocksReply } from './errors-map.js';

/** Tor gives up on a stream after SocksTimeout (120 s); onion dials often take tens of seconds. */
export const DEFAULT_SOCKS5_TIMEOUT_MS = 120_000;

export interface Socks5Proxy {
  host: string;
  port: number;
  /** Tor isolates circuits per distinct user name/password (IsolateSOCKSAuth). */
  username?: string;
  password?: string;
}

export interface Socks5DialerDefaults {
  timeoutMs?: number;
}

const VERSION = 0x05;
const NO_AUTH = 0x00;
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

type Stage = 'connecting to the proxy' | 'greeting the proxy' | 'authenticating' | "waiting for the proxy's answer";

export function socks5Dialer(proxy: Socks5Proxy, defaults: Socks5DialerDefaults = {}): Dialer {
  const defaultTimeout = checkTimeout(defaults.timeoutMs ?? DEFAULT_SOCKS5_TIMEOUT_MS);
  const proxyAddress = formatAddress(proxy.host, proxy.port);
  const auth = proxy.username === undefined ? undefined : authRequest(proxy.username, proxy.password ?? '');
  const greeting = Buffer.from([VERSION, 1, auth ? USER_PASS : NO_AUTH]);
  const proxyError = (message: string, cause?: unknown): PeerUnreachableError =>
    new PeerUnreachableError(message, 'proxy-failed', { cause });

  return (target, opts = {}) => {
    const address = formatAddress(target.host, target.port);
    let request: Buffer;
    try {
      request = connectRequest(target);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = checkTimeout(opts.timeoutMs ?? defaultTimeout);
    let stage: Stage = 'connecting to the proxy';
    let socket: net.Socket | undefined;
    const guard = guardDial<Duplex>(
      () => `connecting to ${address} through the SOCKS proxy ${proxyAddress} (${stage})`,
      timeoutMs,
      opts.signal,
      () => socket?.destroy(),
    );
    if (guard.settled) return guard.promise;

    socket = net.connect({ host: bareHost(proxy.host), port: proxy.port });
    const sock = socket;
    let buf: Buffer = Buffer.alloc(0);

    const onError = (err: Error): void => {
      const { message } = describeSocketError(err);
      guard.reject(
        stage === 'connecting to the proxy'
          ? proxyError(`cannot reach the SOCKS proxy ${proxyAddress}: ${message}`, err)
          : proxyError(`the SOCKS proxy ${proxyAddress} failed while ${stage}: ${message}`, err),
      );
    };
    const onEnd = (): void =>
      guard.reject(proxyError(`the SOCKS proxy ${proxyAddress} closed the connection while ${stage}`));
    // 'readable' + read() keeps the socket paused, so bytes after the reply stay in its buffer.
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!guard.settled && (chunk = sock.read() as Buffer | null) !== null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      }
      try {
        advance();
      } catch (err) {
        guard.reject(err as Error);
      }
    };

    /** Consumes whatever the proxy has sent so far; returns when more bytes are needed. */
    const advance = (): void => {
      for (;;) {
        if (guard.settled) return;
        if (stage === 'greeting the proxy') {
          if (buf.length < 2) return;
          if (buf[0] !== VERSION) throw malformed(proxyAddress, `version 0x${hex(buf[0]!)} in the greeting, expected 0x05`);
          const method = buf[1]!;
          buf = buf.subarray(2);
          if (method === NO_ACCEPTABLE || (method === USER_PASS && !auth) || (method === NO_AUTH && auth)) {
            throw new PeerUnreachableError(
              auth
                ? `the SOCKS proxy ${proxyAddress} does not accept user name and password authentication`
                : `the SOCKS proxy ${proxyAddress} requires authentication`,
              'proxy-refused',
            );
          }
          if (method !== NO_AUTH && method !== USER_PASS) {
            throw malformed(proxyAddress, `it chose authentication method 0x${hex(method)}, which we did not offer`);
          }
          if (auth) {
            stage = 'authenticating';
            sock.write(auth);
          } else {
            stage = "waiting for the proxy's answer";
            sock.write(request);
          }
        } else if (stage === 'authenticating') {
          if (buf.length < 2) return;
          // RFC 1929 says version 0x01; some proxies answer 0x05, which is harmless.
          const status = buf[1]!;
          buf = buf.subarray(2);
          if (status !== 0x00) {
            throw new PeerUnreachableError(`the SOCKS proxy ${proxyAddress} refused our user name and password`, 'proxy-refused');
          }
          stage = "waiting for the proxy's answer";
          sock.write(request);
        } else if (stage === "waiting for the proxy's answer") {
          const reply = parseConnectReply(buf, proxyAddress);
          if (!reply) return;
          if (reply.reply !== 0x00) {
            const { reason, message } = describeSocksReply(reply.reply);
            throw new PeerUnreachableError(`cannot reach ${address}: ${message}`, reason, { socksReply: reply.reply });
          }
          sock.off('readable', onReadable);
          sock.off('end', onEnd);
          sock.off('error', onError);
          // The peer may already have sent its first TLS bytes in the same segment: give them back.
          const rest = buf.subarray(reply.length);
          if (rest.length > 0) sock.unshift(rest);
          guard.resolve(sock);
          return;
        } else {
          return;
        }
      }
    };

    sock.on('error', onError);
    sock.on('end', onEnd);
    sock.once('connect', () => {
      stage = 'greeting the proxy';
      sock.on('readable', onReadable);
      sock.write(greeting);
    });
    return guard.promise;
  };
}

export interface ConnectReply {
  /** REP: 0x00 success, else the failure code (see SOCKS5_REPLIES). */
  reply: number;
  /** Bytes the reply takes; what follows belongs to the connection. */
  length: number;
}

/**
 * Parses a SOCKS5 reply `VER REP RSV ATYP BND.ADDR BND.PORT` from the start of `buf`.
 * Returns null until enough bytes have arrived (BND.ADDR is variable length). A failure needs
 * only VER and REP: the proxy closes the connection anyway, and some send nothing more.
 */
export function parseConnectReply(buf: Uint8Array, proxyAddress = 'the proxy'): ConnectReply | null {
  if (buf.length < 2) return null;
  if (buf[0] !== VERSION) throw malformed(proxyAddress, `version 0x${hex(buf[0]!)} in the reply, expected 0x05`);
  const reply = buf[1]!;
  if (reply !== 0x00) return { reply, length: 2 };
  if (buf.length < 5) return null;
  let addrLength: number;
  switch (buf[3]) {
    case ATYP_IPV4:
      addrLength = 4;
      break;
    case ATYP_IPV6:
      addrLength = 16;
      break;
    case ATYP_DOMAIN:
      addrLength = 1 + buf[4]!;
      break;
    default:
      throw malformed(proxyAddress, `unknown address type 0x${hex(buf[3]!)} in the reply`);
  }
  const length = 4 + addrLength + 2;
  return buf.length < length ? null : { reply, length };
}

/** The CONNECT request; a host name is sent as a name (ATYP 3) for the proxy to resolve. */
export function connectRequest(target: DialTarget): Buffer {
  const host = bareHost(target.host);
  const where = formatAddress(target.host, target.port);
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new PeerUnreachableError(`cannot reach ${where}: invalid port`, 'unsupported');
  }
  let addr: Buffer;
  if (net.isIPv4(host)) {
    addr = Buffer.from([ATYP_IPV4, ...host.split('.').map(Number)]);
  } else if (net.isIPv6(host)) {
    addr = Buffer.concat([Buffer.from([ATYP_IPV6]), ipv6Bytes(host)]);
  } else {
    const name = Buffer.from(host, 'utf8');
    if (name.length === 0 || name.length > 255) {
      throw new PeerUnreachableError(
        `cannot reach ${where}: a host name must be 1 to 255 bytes to pass through SOCKS5`,
        'unsupported',
      );
    }
    addr = Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name]);
  }
  const port = Buffer.from([target.port >> 8, target.port & 0xff]);
  return Buffer.concat([Buffer.from([VERSION, CMD_CONNECT, 0x00]), addr, port]);
}

/** RFC 1929 request; checked when the dialer is made, so bad settings fail at start-up. */
function authRequest(username: string, password: string): Buffer {
  const user = Buffer.from(username, 'utf8');
  const pass = Buffer.from(password, 'utf8');
  if (user.length < 1 || user.length > 255) throw new RangeError('SOCKS5 user name must be 1 to 255 bytes');
  if (pass.length > 255) throw new RangeError('SOCKS5 password must be at most 255 bytes');
  return Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]);
}

/** 16 bytes of an IPv6 literal already validated by net.isIPv6 (handles "::" and a dotted tail). */
function ipv6Bytes(ip: string): Buffer {
  const noZone = ip.split('%')[0]!;
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = noZone.indexOf('::');
  const head = groups(gap < 0 ? noZone : noZone.slice(0, gap));
  const tail = gap < 0 ? [] : groups(noZone.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function malformed(proxyAddress: string, detail: string): PeerUnreachableError {
  return new PeerUnreachableError(`the SOCKS proxy ${proxyAddress} sent a malformed answer: ${detail}`, 'proxy-failed');
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
