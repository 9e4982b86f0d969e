// The peer manager's public shapes: its options and the events the gateway listens to.
import type { LinkMessage, LinkProtocol, LinkSide } from '../link.js';
import type { Logger } from '../logger.js';
import type { TlsContext } from '../tls-context.js';
import type { Dialer } from '../transport/types.js';
import type { LinkChatState, LinkMarker } from '../wire/link-frames.js';
import type { BackoffOptions } from './backoff.js';
import type { PeerAddress } from './dial.js';

export interface PeerManagerOptions {
  tls: TlsContext;
  log?: Logger;
  /** How to reach an address (direct TCP now; Tor SOCKS for .onion later). */
  dialerFor: (address: PeerAddress) => Dialer;
  /** Listen for incoming links (port 0 = pick a free one). */
  listen?: Array<{ host: string; port: number }>;
  /**
   * Decides, after the TLS handshake and before any application data, whether a peer may have
   * a link (blocked/denied peers are cut here and stay cut). Default: accept. A rejected
   * outbound link also stops redials of that peer until connect()/setPeer().
   */
  authorize?: (fingerprint: string, side: LinkSide) => 'accept' | 'reject';
  /**
   * Inbound connections not yet links, queued ones included (default 1 024); beyond it new TCP connections
   * are closed at once. A queued one costs a socket and its buffered ClientHello, not a handshake.
   */
  maxPendingHandshakes?: number;
  /**
   * Inbound handshakes given the event loop at once (default 8); the others wait in arrival order.
   * Each costs an RSA signature on the event loop (≈2.7 ms): 8 bound a turn to ≈20 ms of them.
   */
  maxConcurrentHandshakes?: number;
  /**
   * An inbound connection that sends no ClientHello this long after accept is dropped (default
   * 5 000 ms; at most handshakeTimeoutMs). A real peer sends it within one round trip of connecting,
   * a Tor circuit's included; a silent one should not hold a place for the full handshake timeout.
   */
  firstByteTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  dialTimeoutMs?: number;
  maxMessageBytes?: number;
  /** The gateway ALPN ids offered and accepted, best first (default all: GATEWAY_ALPNS); fewer make an older gateway. */
  gatewayAlpns?: readonly string[];
  /** First retry within 2 s, doubling, cap ≤ 5 min, jitter. */
  backoff?: BackoffOptions & {
    /**
     * A link that dies sooner than this after coming up (e.g. the peer cuts us after the
     * handshake because it blocked us) does not reset the backoff (default 5 000 ms; 0: always reset).
     */
    flapWindowMs?: number;
  };
  /**
   * Runs right before a gateway link acknowledges the messages, markers and states it delivered from `fingerprint`:
   * the owner makes them durable here (the acknowledgement tells the peer it may forget them). A throw cuts the
   * link unacknowledged, so the peer keeps them and sends them again on its next link.
   */
  beforeAck?: (fingerprint: string) => void;
  /** How long a replaced link may take to end before it is destroyed (default 5 000 ms). */
  switchTimeoutMs?: number;
}

export interface LinkUpInfo {
  fingerprint: string;
  side: LinkSide;
  gatewayPeer: boolean;
  /** What the link speaks: 'gateway/3' carries message ids, markers and chat states. */
  protocol: LinkProtocol;
  remoteAddress?: string;
}

export interface PeerManagerEvents {
  [event: string]: (...args: any[]) => void;
  'link-up': (info: LinkUpInfo) => void;
  'link-down': (info: { fingerprint: string; reason: string; error?: Error }) => void;
  /** id, receipt and markable only from a gateway/3 link. */
  message: (fingerprint: string, message: LinkMessage) => void;
  /** gateway/3: the peer's user's client got (or displayed) our message `id` (as we sent it with sendMessage). */
  marker: (fingerprint: string, marker: LinkMarker, id: string) => void;
  'chat-state': (fingerprint: string, state: LinkChatState) => void;
  'dial-failed': (info: { fingerprint: string; address: PeerAddress; error: Error; retryInMs?: number }) => void;
  'inbound-rejected': (info: { fingerprint?: string; reason: string; error?: Error }) => void;
}
