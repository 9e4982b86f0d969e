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
export { GATEWAY_ALPN, GATEWAY_ALPN_V1, GATEWAY_ALPN_V2, GATEWAY_ALPNS, createTlsContext, type TlsContext } from './tls-context.js';
export {
  Link,
  acceptLink,
  dialLink,
  type DialLinkOptions,
  type LinkCloseInfo,
  type LinkMessage,
  type LinkProfile,
  type LinkCloseReason,
  type LinkOptions,
  type LinkProtocol,
  type LinkSide,
  type UnfinishedSend,
} from './link.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  LineDecoder,
  encodeMessage,
  sanitizeForXml,
  type DecodedMessage,
} from './wire/line-codec.js';
export {
  FrameDecoder,
  LINK_CHAT_STATES,
  LINK_MARKERS,
  MAX_FRAME_BYTES,
  encodeFrame,
  isLinkId,
  type LinkChatState,
  type LinkMarker,
  type LinkRecord,
} from './wire/link-frames.js';
export { canonicalBase64 } from './wire/base64.js';
export { MAX_CHUNK_BYTES, type FileChunkRecord, type FileOfferRecord, type FileRecord, type FileReplyRecord } from './wire/file-frames.js';
export { formatAddress, isOnionHost, type DialOptions, type DialTarget, type Dialer } from './transport/types.js';
export { directDialer, type DirectDialerDefaults } from './transport/direct.js';
export { socks5Dialer, SOCKS5_REPLIES, describeSocksReply, type Socks5DialerDefaults, type Socks5Proxy } from './transport/socks5.js';
export { memoryDialer, memoryDuplexPair } from './transport/memory.js';
export { Backoff, MAX_BACKOFF_MS, type BackoffOptions } from './peers/backoff.js';
export {
  PeerManager,
  keepNewLink,
  type LinkUpInfo,
  type OutgoingMessage,
  type PeerAddress,
  type PeerManagerEvents,
  type PeerManagerOptions,
} from './peers.js';
export {
  TorControl,
  describeEndpoint,
  type AddOnionOptions,
  type AddOnionResult,
  type CommandOptions,
  type ControlEndpoint,
  type OnionPort,
  type TorControlEvents,
  type TorControlOptions,
} from './tor/control.js';
export {
  TorControlError,
  TorError,
  parseBootstrap,
  parseHsDesc,
  type BootstrapStatus,
  type HsDescEvent,
  type TorErrorReason,
  type TorEvent,
} from './tor/control-parse.js';
export { authenticate, hashPassword, protocolInfo, type AuthMethod, type ControlAuthOptions, type ProtocolInfo } from './tor/control-auth.js';
export {
  addOnionKeyBlob,
  generateOnionKey,
  isOnionV3Address,
  loadOrCreateOnionKey,
  onionKeyFromPem,
  onionServiceId,
  parseOnionAddress,
  saveOnionKey,
  type OnionAddressProblem,
  type OnionKey,
} from './tor/onion-key.js';
export { TorProcess, launchTor, torArguments, type LaunchOptions, type LaunchedTor, type TorExit } from './tor/launch.js';
export {
  DEFAULT_ONION_VIRTUAL_PORT,
  TorService,
  readSocks,
  type OnionSpec,
  type SocksEndpoint,
  type TorExitInfo,
  type TorMode,
  type TorServiceEvents,
  type TorServiceOptions,
  type TorState,
  type TorStatus,
  type TorWarning,
} from './tor/service.js';
export {
  ALIAS_PATTERN,
  ALIAS_QUESTION,
  STAMP_TOLERANCE_MS,
  aliasForNick,
  parseRoomLine,
  roomStamp,
  roomVisible,
  splitRoomLines,
  type RoomLine,
} from './wire/room-lines.js';
export {
  DEFAULT_JOIN_TIMEOUT_MS,
  RoomLink,
  RoomNotJoinedError,
  type RoomDown,
  type RoomJoined,
  type RoomLinkEvents,
  type RoomLinkOptions,
  type RoomLinkState,
  type RoomOccupant,
  type RoomSaid,
} from './rooms/room-link.js';
export { ROOM_ALPN, ROOM_ALPNS } from './tls-context.js';
export { MAX_ROOM_HISTORY, ROOM_MARKERS, type RoomMarker, type RoomRecord } from './wire/room-frames.js';
export {
  BANNED,
  FLOOD_CUT,
  MAX_UNWRITTEN,
  ROOM_FULL,
  RoomHost,
  type RoomBook,
  type RoomHostEvents,
  type RoomHostOptions,
  type RoomLog,
  type RoomLogEntry,
  type RoomMember,
  type RoomPolicy,
} from './rooms/room-host.js';
