// The one TLS configuration for all links: our identity, TLS 1.2+, mutual certificates,
// no chain or name checks (a tlsim certificate is only a carrier of the key).
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Identity } from './identity.js';

/**
 * ALPN id by which two tlsim-gateways recognise each other. A reference peer offers and
 * selects no ALPN, so with it the link stays plain lines (PROTOCOL.md "Extensions").
 * Version 2 adds acknowledgements and an end of messages (wire/link-control.ts).
 */
export const GATEWAY_ALPN = 'x-tlsim-gateway/2';
/** Gateways before acknowledgements: gateway links of plain lines. */
export const GATEWAY_ALPN_V1 = 'x-tlsim-gateway/1';
/** What a dialer offers, best first. */
export const GATEWAY_ALPNS = [GATEWAY_ALPN, GATEWAY_ALPN_V1];

/** What a link speaks: plain lines (a reference peer), or a gateway's, with acknowledgements from version 2. */
export type LinkProtocol = 'plain' | 'gateway/1' | 'gateway/2';

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
