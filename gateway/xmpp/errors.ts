// XMPP errors a handler throws: stanza errors (RFC 6120 §8.3) answer one stanza,
// stream errors (RFC 6120 §4.9) close one stream. Nothing else is closed.

import type { Element } from './xml/element.js';

export const STANZAS_NS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const STREAMS_NS = 'urn:ietf:params:xml:ns:xmpp-streams';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export type StanzaErrorCondition =
  | 'bad-request'
  | 'conflict'
  | 'feature-not-implemented'
  | 'forbidden'
  | 'gone'
  | 'internal-server-error'
  | 'item-not-found'
  | 'jid-malformed'
  | 'not-acceptable'
  | 'not-allowed'
  | 'not-authorized'
  | 'policy-violation'
  | 'recipient-unavailable'
  | 'redirect'
  | 'registration-required'
  | 'remote-server-not-found'
  | 'remote-server-timeout'
  | 'resource-constraint'
  | 'service-unavailable'
  | 'subscription-required'
  | 'undefined-condition'
  | 'unexpected-request';

const DEFAULT_TYPE: Partial<Record<StanzaErrorCondition, StanzaErrorType>> = {
  'bad-request': 'modify',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'policy-violation': 'modify',
  'not-authorized': 'auth',
  forbidden: 'auth',
  'registration-required': 'auth',
  'subscription-required': 'auth',
  'internal-server-error': 'wait',
  'recipient-unavailable': 'wait',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'unexpected-request': 'wait',
};

/** (Additive) An application-specific condition next to the defined one (RFC 6120 §8.3.2), e.g. pubsub#errors. */
export interface AppCondition {
  readonly name: string;
  readonly ns: string;
  readonly attrs?: Readonly<Record<string, string>>;
  /** (Additive) Its content, e.g. XEP-0363's <max-file-size/>. */
  readonly children?: readonly Element[];
}

export class StanzaError extends Error {
  readonly type: StanzaErrorType;
  constructor(
    readonly condition: StanzaErrorCondition,
    readonly text?: string,
    type?: StanzaErrorType,
    readonly app?: AppCondition,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'StanzaError';
    this.type = type ?? DEFAULT_TYPE[condition] ?? 'cancel';
  }
}

export type StreamErrorCondition =
  | 'bad-format'
  | 'bad-namespace-prefix'
  | 'conflict'
  | 'connection-timeout'
  | 'host-gone'
  | 'host-unknown'
  | 'improper-addressing'
  | 'internal-server-error'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'invalid-xml'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'remote-connection-failed'
  | 'reset'
  | 'resource-constraint'
  | 'restricted-xml'
  | 'see-other-host'
  | 'system-shutdown'
  | 'undefined-condition'
  | 'unsupported-encoding'
  | 'unsupported-feature'
  | 'unsupported-stanza-type'
  | 'unsupported-version';

export class StreamError extends Error {
  constructor(
    readonly condition: StreamErrorCondition,
    readonly text?: string,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'StreamError';
  }
}

/** Configuration problems found at start: the message names the key and the reason. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`config ${key}: ${reason}`);
    this.name = 'ConfigError';
  }
}
