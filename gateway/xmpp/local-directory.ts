// What one local account's features see of the gateway's other local accounts (local mode): who they
// are, their presence, and delivery to them as to users of the same XMPP server (RFC 6121 §8.5.2).
import type { SessionInfo } from './hooks.js';
import type { Element } from './xml/element.js';

export type LocalChange = 'added' | 'removed';

export interface LocalDirectory {
  /** The bare JIDs of the gateway's other local accounts, sorted. */
  others(): string[];
  /** The available presence of every session of another account (or of all others), from its full JID, to `to`. */
  presences(to: string, of?: string): Element[];
  /**
   * Hands a stanza to the local account its `to` names, as the server would: a full JID to that
   * session if it is online (else as to the bare JID), a bare JID to every available session.
   * Returns how many sessions got it (0: the account is offline; the caller may keep it).
   */
  deliver(stanza: Element): number;
  /** The bound session of another account's resource. */
  session(bare: string, resource: string): SessionInfo | undefined;
  /** Keeps a message for the account its `to` names until its next login (its offline storage). */
  keep(stanza: Element): void;
  /** Accounts added to or removed from the running gateway (roster pushes). */
  onChange(listener: (jid: string, change: LocalChange) => void): void;
}
