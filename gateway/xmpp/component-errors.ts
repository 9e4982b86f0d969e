// Why a XEP-0114 component link failed or went down, in plain words for the operator: each text
// names the server and the component domain and says what to change (Prosody mod_component,
// ejabberd ejabberd_service). Pure: no sockets, timers or logging.

export type LinkFailure =
  /** A `<stream:error>` from the server (RFC 6120 §4.9.3). */
  | { kind: 'stream-error'; condition: string; text?: string }
  /** The server closed right after our `<handshake>`: how some servers refuse a secret. */
  | { kind: 'refused-handshake'; reason: string }
  /** TCP connect failed or timed out (ECONNREFUSED, EHOSTUNREACH, ENOTFOUND, timeout). */
  | { kind: 'unreachable'; code: string }
  /** The server sent bad XML: we closed with this stream error. */
  | { kind: 'bad-xml'; condition: string; text?: string }
  /** Connected, but no stream header or no handshake reply in time. */
  | { kind: 'no-answer'; waitedMs: number }
  /** A stream header we cannot use (wrong namespace, no id). */
  | { kind: 'bad-header'; what: string }
  /** The server did not read what we wrote: we cut the connection. */
  | { kind: 'write-buffer'; bytes: number }
  /** The socket or stream ended without a stream error. */
  | { kind: 'closed'; reason: string };

export interface FailureReport {
  /** 'error': the configuration must change; 'warn': transient, retrying may help. */
  level: 'error' | 'warn';
  text: string;
  condition?: string;
}

/** The stream error condition the server sent, and its text (RFC 6120 §4.9.2). */
function conditionText(condition: string, text?: string): string {
  return text ? `${condition}: ${text}` : condition;
}

/**
 * `online` tells whether the stream had been authenticated: a stream that ends after that is
 * "closed", before it the server "refused" it.
 */
export function describeFailure(f: LinkFailure, online: boolean, server: string, domain: string): FailureReport {
  const secret =
    `the server ${server} refused the component secret for ${domain}: component.secret must equal ` +
    `the server's component_secret (Prosody) / password (ejabberd)`;
  switch (f.kind) {
    case 'stream-error':
      switch (f.condition) {
        case 'not-authorized':
          return { level: 'error', condition: f.condition, text: secret };
        case 'conflict':
          return {
            level: 'error',
            condition: f.condition,
            text: `another connection already serves ${domain} on ${server} (conflict): is a second gateway running with the same component domain?`,
          };
        case 'host-unknown':
        case 'host-gone':
        case 'improper-addressing':
          return {
            level: 'error',
            condition: f.condition,
            text:
              `the server ${server} does not know the component domain ${domain} (${f.condition}): declare it ` +
              `(Prosody: Component "${domain}"; ejabberd: listen → ejabberd_service → hosts)`,
          };
        case 'invalid-namespace':
          return {
            level: 'error',
            condition: f.condition,
            text: `the server ${server} does not take a component stream for ${domain} there (invalid-namespace): is ${server} its component port, not the client port?`,
          };
        default:
          return online
            ? { level: 'warn', condition: f.condition, text: `the XMPP server ${server} closed the component stream for ${domain} (${conditionText(f.condition, f.text)})` }
            : { level: 'warn', condition: f.condition, text: `the XMPP server ${server} refused the component stream for ${domain}: ${conditionText(f.condition, f.text)}` };
      }
    case 'refused-handshake':
      return { level: 'error', condition: 'not-authorized', text: `${secret} (it closed the stream after our handshake: ${f.reason})` };
    case 'unreachable':
      return {
        level: 'warn',
        text: `cannot reach the XMPP server's component port ${server} (${f.code}): is it running and is the component port open? (component domain ${domain})`,
      };
    case 'bad-xml':
      return {
        level: 'warn',
        condition: f.condition,
        text: `the XMPP server ${server} sent bad XML on the component stream for ${domain} (${conditionText(f.condition, f.text)}): closed with that stream error`,
      };
    case 'no-answer':
      return {
        level: 'warn',
        text: `the XMPP server ${server} did not complete the component handshake for ${domain} within ${f.waitedMs} ms: is ${server} its component port?`,
      };
    case 'bad-header':
      return { level: 'warn', text: `the XMPP server ${server} answered the component stream for ${domain} with ${f.what}: is ${server} its component port?` };
    case 'write-buffer':
      return {
        level: 'warn',
        text: `the XMPP server ${server} is not reading the component stream for ${domain} (${f.bytes} bytes queued): connection cut`,
      };
    case 'closed':
      return online
        ? { level: 'warn', text: `the XMPP server ${server} closed the component stream for ${domain} (${f.reason})` }
        : { level: 'warn', text: `the XMPP server ${server} closed the connection before the component stream for ${domain} was up (${f.reason}): is ${server} its component port?` };
  }
}
