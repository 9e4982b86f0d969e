// Which way a peer is dialed: .onion hosts always through tor's SOCKS port (the name goes to tor, never
// to our resolver), other hosts directly unless tor.all; onion dials get tor's own 120 s (research/tor.md §5).
import {
  PeerUnreachableError,
  directDialer,
  isOnionHost,
  parseOnionAddress,
  socks5Dialer,
  type Dialer,
  type PeerAddress,
  type SocksEndpoint,
  type UnreachableReason,
} from './peer-protocol.js';
import { formatAddress } from './share-string.js';

/** tor's SocksTimeout: an onion dial (descriptor, introduction, rendezvous) may take this long. */
export const ONION_DIAL_TIMEOUT_MS = 120_000;
/** A direct TCP connect; what the peer manager used before Tor existed. */
export const DIRECT_DIAL_TIMEOUT_MS = 30_000;

export interface TorDialState {
  /** The SOCKS endpoint of a tor that has bootstrapped, or undefined. */
  socks(): SocksEndpoint | undefined;
  /** Why there is none, e.g. 'Tor is not ready (bootstrapping, 45%)' or 'Tor is off (tor.mode = "off")'. */
  whyNot(): string;
}

export interface TorDialerOptions {
  tor: TorDialState;
  /** tor.all: every peer through Tor, none directly. */
  all: boolean;
  direct?: Dialer;
  onionTimeoutMs?: number;
  directTimeoutMs?: number;
}

/** For the peer manager's dialerFor: chosen per dial, so a tor that became ready since is used at once. */
export function torAwareDialerFor(opts: TorDialerOptions): (address: PeerAddress) => Dialer {
  const direct = opts.direct ?? directDialer();
  const directMs = opts.directTimeoutMs ?? DIRECT_DIAL_TIMEOUT_MS;
  const onionMs = opts.onionTimeoutMs ?? ONION_DIAL_TIMEOUT_MS;
  let dials = 0;
  // The peer manager's dial timeout is sized for onions; a direct connect keeps its own, shorter one.
  const viaDirect: Dialer = (target, o = {}) => direct(target, { ...o, timeoutMs: Math.min(o.timeoutMs ?? directMs, directMs) });
  const viaTor: Dialer = (target, o = {}) => {
    const where = formatAddress(target);
    const onion = isOnionHost(target.host);
    if (onion) {
      const parsed = parseOnionAddress(target.host);
      if (!parsed.ok) {
        return Promise.reject(
          new PeerUnreachableError(`cannot reach ${where}: not a valid v3 onion address (${parsed.problem})`, 'onion-bad-address'),
        );
      }
    }
    const socks = opts.tor.socks();
    if (!socks) {
      const why = onion ? 'an .onion address can only be reached through Tor' : 'tor.all is set, so no peer is dialed directly';
      return Promise.reject(new PeerUnreachableError(`cannot reach ${where}: ${opts.tor.whyNot()}; ${why}`, 'proxy-failed'));
    }
    // A new SOCKS user name per dial: tor (IsolateSOCKSAuth) then builds a new circuit, so the retry after
    // a 0xF0 does not reuse the one that just failed (tor.md §4.4).
    const dial = socks5Dialer({ ...socks, username: `tlsim-${++dials}`, password: 'x' }, { timeoutMs: onionMs });
    return dial(target, { ...o, timeoutMs: Math.min(o.timeoutMs ?? onionMs, onionMs) });
  };
  return (address) => (opts.all || isOnionHost(address.host) ? viaTor : viaDirect);
}

const SHORT: Partial<Record<UnreachableReason, string>> = {
  'onion-not-found': 'peer offline: onion service not found',
  'onion-intro-failed': 'peer offline: introduction to its onion service failed',
  'onion-intro-timeout': 'peer offline: introduction to its onion service timed out',
  'onion-rendezvous-failed': 'peer unreachable: the rendezvous over Tor failed',
  'onion-descriptor-invalid': "peer unreachable: its onion service descriptor is invalid",
  'onion-bad-address': 'invalid onion address',
  'onion-auth-missing': 'the onion service requires client authorization',
  'onion-auth-wrong': 'the onion service rejected our client authorization',
  'ttl-expired': 'peer unreachable: timed out over Tor',
};

/** A dial failure in a few words for the user ("peer offline: onion service not found"). */
export function dialFailureText(err: Error): string {
  if (err instanceof PeerUnreachableError) {
    const short = SHORT[err.reason];
    if (short) return short;
    // "cannot reach host:port: reason" -> the reason (the address is said next to it anyway).
    return err.message.replace(/^cannot reach \S+: /, '');
  }
  return err.message;
}
