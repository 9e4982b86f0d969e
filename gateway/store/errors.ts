// Store errors with stable codes, so the bridge can map them to XMPP errors without parsing messages.

export type StoreErrorCode =
  /** The database was written by a newer tlsim-gateway; opening it could damage it. */
  | 'newer-schema'
  /** Not 64 lowercase hex characters. */
  | 'bad-fingerprint'
  /** Queued or held for a peer that is not a contact of the account. */
  | 'no-contact'
  /** No such account id. */
  | 'no-account'
  /** A text or name over the store's size limit. */
  | 'too-large'
  /** The per-peer outgoing queue is full. */
  | 'queue-full'
  /** No archived message has this stanza id (XEP-0313 item-not-found). */
  | 'unknown-id'
  /** (Additive) More PEP nodes, or stored documents, than an account may keep. */
  | 'too-many'
  /** (Additive) A name or alias another entry holds. */
  | 'taken';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
