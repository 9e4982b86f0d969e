// The gateway's one door into bridge-protocol: everything the gateway uses of the peer
// side passes through here, so the boundary stays visible and small.
export {
  FingerprintMismatchError,
  PeerManager,
  PeerUnreachableError,
  ProtocolError,
  directDialer,
  importIdentity,
  isFingerprint,
  loadIdentity,
  loadOrCreateIdentity,
  createTlsContext,
  type Dialer,
  type Identity,
  type LinkUpInfo,
  type Logger as ProtocolLogger,
  type PeerAddress,
  type PeerManagerOptions,
} from '../../bridge-protocol/index.js';
