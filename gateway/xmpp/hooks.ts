// Typed hooks between the XMPP core and features. Hook names are keys of one interface,
// so a typo does not compile.
import type { JID } from '@xmpp/jid';
import type { Element } from './xml/element.js';

/** What features may know about one authenticated XMPP stream. */
export interface SessionInfo {
  readonly id: string;
  /** Full JID once bound. */
  readonly jid: JID;
  /** True after the client sent initial (available) presence. */
  readonly available: boolean;
  /** The last available presence the client sent, if any. */
  readonly presence: Element | undefined;
  /**
   * The client queried the archive (XEP-0313) on this session: like Prosody's mod_mam, stored offline
   * messages are then not pushed at its initial presence (it has them from the archive); set by the MAM feature.
   */
  archiveQueried?: boolean;
  /** (Additive) The priority of that presence (RFC 6121 §4.7.2.3), 0 without one. */
  readonly priority: number;
  /** Send a stanza to this one client (it gets SM counting and queueing). */
  send(stanza: Element): void;
}

export interface Hooks {
  /** A session finished resource binding. */
  'session-bound': (session: SessionInfo) => void;
  /** A session sent its first available presence (after this, it gets contact presences). */
  'initial-presence': (session: SessionInfo) => void;
  /**
   * A session became unavailable or its stream ended (not called for an SM-resumable drop until it expires).
   * (Core, as built: fired exactly once, when the session ends; an explicit unavailable presence
   * only reaches the 'account' presence handler. A session that ends while available first
   * passes a synthetic `<presence type='unavailable'/>` to that handler.)
   */
  'session-closed': (session: SessionInfo) => void;
  /**
   * (Added by the core.) A message for the user that no session acknowledged: its session
   * ended with it in the XEP-0198 unacked queue and no other session was available. The
   * offline store may keep it; without a subscriber the core logs it as lost.
   */
  'message-undelivered': (stanza: Element) => void;
  /**
   * (Added by the core.) A message for the user went to these sessions: the ones RFC 6121 §8.5.2
   * routing chose for the bare JID, or the one its full JID names. Not fired when nobody got it,
   * nor when the core hands a dead session's unacknowledged messages over (they were told once).
   */
  'message-delivered': (stanza: Element, sessions: readonly SessionInfo[]) => void;
  /**
   * (Added by the core.) A message kept for the user (the offline box) went to the session that came online.
   * Not a delivery as routing makes it (no carbons: the user's other sessions were not there to see it).
   */
  'stored-delivered': (session: SessionInfo, stanza: Element) => void;
  /**
   * (Added by the core.) The user sent a message from `session` to someone else than their own
   * account (a contact, the gateway contact), `from` already stamped. Handlers run synchronously
   * before the message goes on, and may take out what is meant for the server only (XEP-0280 <private/>).
   */
  'message-sent': (session: SessionInfo, stanza: Element) => void;
  /**
   * (Added by the core.) The user's broadcast presence from `session` (available or unavailable, after the core
   * updated the session's availability), and the unavailable of a session that ends while available. Several
   * features answer it (the user's other resources, the gateway's other local accounts), so it is a hook.
   */
  'presence-broadcast': (session: SessionInfo, stanza: Element) => void;
  /**
   * (Added by the core.) A session ended with this message unacknowledged (XEP-0198), before the
   * core hands it to the user's other sessions: a feature that gave some of them a copy of it
   * (XEP-0280) adds those to `holders`, synchronously; the core then hands nothing over.
   */
  'message-handover': (stanza: Element, holders: Set<SessionInfo>) => void;
}
