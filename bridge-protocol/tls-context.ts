// The one TLS configuration for all links: our identity, TLS 1.2+, mutual certificates,
// no chain or name checks (a tlsim certificate is only a carrier of the key).
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Identity } from './identity.js';

/**
 * ALPN id by which two tlsim-gateways recognise each other. A reference peer offers and
 * selects no ALPN, so with it the link stays plain lines (PROTOCOL.md "Extensions").
 * Version 3 carries typed frames: messages with ids, receipts and chat markers, chat states
 * (wire/link-frames.ts), with the acknowledgements and end of version 2.
 */
export const GATEWAY_ALPN = 'x-tlsim-gateway/3';
/** Acknowledgements and an end of messages (wire/link-control.ts) on lines of text. */
export const GATEWAY_ALPN_V2 = 'x-tlsim-gateway/2';
/** Gateways before acknowledgements: gateway links of plain lines. */
export const GATEWAY_ALPN_V1 = 'x-tlsim-gateway/1';
/** What a dialer offers, and an acceptor selects, best first. */
export const GATEWAY_ALPNS: readonly string[] = [GATEWAY_ALPN, GATEWAY_ALPN_V2, GATEWAY_ALPN_V1];

/**
 * ALPN id of a room connection between two gateways (a member gateway dialing a room a gateway hosts): room
 * frames (wire/room-frames.ts). A reference room selects nothing and a reference member offers nothing, so
 * either way the connection stays the lines of TLSd's sample chat.
 */
export const ROOM_ALPN = 'x-tlsim-room/1';
export const ROOM_ALPNS: readonly string[] = [ROOM_ALPN];

/**
 * What a link speaks: plain lines (a reference peer), or a gateway's: with acknowledgements from version 2,
 * typed frames from version 3; 'room/1' is a room connection with room frames.
 */
export type LinkProtocol = 'plain' | 'gateway/1' | 'gateway/2' | 'gateway/3' | 'room/1';

export interface TlsContext {
  readonly identity: Identity;
  readonly secureContext: SecureContext;
}

export function createTlsContext(identity: Identity): TlsContext {
  const secureContext = createSecureContext({
    key: identity.keyPem,
    cert: identity.certPem,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
  });
  return { identity, secureContext };
}
