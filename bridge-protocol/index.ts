// The public face of bridge-protocol: everything the gateway uses, and nothing it should not reach into.
export * from './errors.js';
export { TypedEmitter, type EventMap } from './events.js';
export { silentLogger, type Logger } from './logger.js';
export {
  CERT_FILE,
  KEY_FILE,
  fingerprintOf,
  generateIdentity,
  identityFromPem,
  importIdentity,
  isFingerprint,
  loadIdentity,
  loadOrCreateIdentity,
  type Identity,
} from './identity.js';
export { GATEWAY_ALPN, createTlsContext, type TlsContext } from './tls-context.js';
export {
  Link,
  acceptLink,
  dialLink,
  type DialLinkOptions,
  type LinkCloseInfo,
  type LinkCloseReason,
  type LinkOptions,
  type LinkSide,
} from './link.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  LineDecoder,
  encodeMessage,
  sanitizeForXml,
  type DecodedMessage,
} from './wire/line-codec.js';
export { formatAddress, isOnionHost, type DialOptions, type DialTarget, type Dialer } from './transport/types.js';
export { directDialer, type DirectDialerDefaults } from './transport/direct.js';
export { socks5Dialer, SOCKS5_REPLIES, describeSocksReply, type Socks5DialerDefaults, type Socks5Proxy } from './transport/socks5.js';
export { memoryDialer, memoryDuplexPair } from './transport/memory.js';
export { Backoff, MAX_BACKOFF_MS, type BackoffOptions } from './peers/backoff.js';
export {
  PeerManager,
  keepNewLink,
  type LinkUpInfo,
  type PeerAddress,
  type PeerManagerEvents,
  type PeerManagerOptions,
} from './peers.js';
