// STARTTLS on c2s streams (RFC 6120 §5): offered only on a plain TCP stream that has TLS
// material, never required, and never re-advertised once TLS is up.
// COMPAT(pidgin): libpurple starts TLS whenever <starttls/> is in the features, even on an
// already secured stream, so offering it twice would loop.
import type { ServerTls } from './local-ca.js';
import type { StreamTransport } from './stream/transport.js';
import { Element, x } from './xml/element.js';

export const TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls';

export function canOfferStartTls(transport: StreamTransport, tls: ServerTls | undefined): tls is ServerTls {
  return tls !== undefined && transport.canStartTls && transport.startTls !== undefined;
}

export function startTlsFeature(): Element {
  return x('starttls', { xmlns: TLS_NS });
}

export function proceed(): Element {
  return x('proceed', { xmlns: TLS_NS });
}

export function tlsFailure(): Element {
  return x('failure', { xmlns: TLS_NS });
}
