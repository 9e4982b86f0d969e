// The server side of SASL as the XMPP stream core drives it (RFC 6120 §6, RFC 4422):
// mechanisms, one exchange per attempt, failures carrying RFC 6120 §6.5 conditions.

/** The `<failure/>` conditions of RFC 6120 §6.5. */
export type SaslCondition =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

/**
 * Ends one exchange with `<failure><condition/><text/></failure>`. The text is read by
 * users and sent to the client: it never carries passwords, proofs or payloads.
 */
export class SaslFailure extends Error {
  constructor(
    readonly condition: SaslCondition,
    readonly text?: string,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'SaslFailure';
  }
}

export type SaslStep = { kind: 'challenge'; data: Buffer } | { kind: 'success'; data?: Buffer; username: string };

/** One authentication exchange, server side. step() gets the decoded initial response (empty Buffer if none) and then each <response>; throws SaslFailure. */
export interface SaslExchange {
  step(clientMessage: Buffer): SaslStep;
  /** (Additive) The username the client claimed, once parsed (for counting failures per account). */
  readonly username?: string;
}

/** (Additive) What the stream core asks of one exchange. */
export interface SaslStartOptions {
  /**
   * Called with the claimed username before any credential is looked at; throws a SaslFailure to
   * refuse the attempt (the login rate limit of that account and address).
   */
  admit?(username: string): void;
}

export type SaslMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';

export interface SaslMechanism {
  readonly name: SaslMechanismName;
  /** PLAIN: true (offered only over TLS unless configured) */
  readonly needsTls: boolean;
  start(opts?: SaslStartOptions): SaslExchange;
}

/**
 * Longest client message we look at. Real ones are a few hundred bytes; the cap keeps a
 * hostile client from making us decode and hash megabytes before the stanza limit bites.
 */
export const MAX_CLIENT_MESSAGE = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding (RFC 4616 §2 and RFC 5802 §7 both require UTF-8). */
export function decodeUtf8(data: Buffer, what: string): string {
  if (data.length > MAX_CLIENT_MESSAGE) throw new SaslFailure('malformed-request', `${what} is too long`);
  try {
    return utf8.decode(data);
  } catch {
    throw new SaslFailure('malformed-request', `${what} is not valid UTF-8`);
  }
}

// RFC 4013 tables B.1 (mapped to nothing) and C.1.2 (non-ASCII spaces, mapped to SPACE).
const MAP_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
// RFC 4013 §2.3: control characters are prohibited output.
const PROHIBITED = /[\u0000-\u001F\u007F-\u009F\uFFF9-\uFFFD]/;

/**
 * SASLprep without the bidi and unassigned-code-point rules (RFC 4013 §2.1-2.3): the
 * mapping and NFKC that make the same typed text compare equal whatever the client
 * sends. Identity for the ASCII passwords we generate. Returns undefined when the
 * string holds prohibited characters.
 */
export function saslprepLite(s: string): string | undefined {
  const out = s.replace(MAP_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  return PROHIBITED.test(out) ? undefined : out;
}

/**
 * Whether an authorization identity asks for nothing more than the authenticated user:
 * the username itself or a JID of it (`user@domain`, `user@domain/resource`). Anything
 * else would be acting as someone else, which this server never allows.
 */
export function authzidAllowed(authzid: string, username: string): boolean {
  return authzid === '' || authzid === username || authzid.startsWith(`${username}@`);
}
