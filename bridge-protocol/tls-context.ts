// The one TLS configuration for all links: our identity, TLS 1.2+, mutual certificates,
// no chain or name checks (a tlsim certificate is only a carrier of the key).
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Identity } from './identity.js';

/**
 * ALPN id by which two tlsim-gateways recognise each other. A reference peer offers and
 * selects no ALPN, so with it the link stays plain lines (PROTOCOL.md "Extensions").
 */
export const GATEWAY_ALPN = 'x-tlsim-gateway/1';

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
