// Addressing and delivery for the one local user (RFC 6120 §8.1.1, §10; RFC 6121 §8.5):
// who a stanza from the user is for, and which sessions get a stanza for the user.
import { jid as parseJid, type JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import { StanzaError } from './errors.js';
import type { Addressee, XmppIdentity } from './feature.js';
import type { Session } from './stream/session.js';
import type { Element } from './xml/element.js';

const FINGERPRINT = /^[0-9a-f]{64}$/;

/** Parses a JID strictly enough to route it; a bad one is jid-malformed. */
export function toJid(address: string): JID {
  let j: JID;
  try {
    j = parseJid(address);
  } catch {
    throw new StanzaError('jid-malformed', `bad address ${address}`);
  }
  if (!j.domain || /[@/\s]/.test(j.domain) || /[\s@/"&'<>:]/.test(j.local ?? '')) {
    throw new StanzaError('jid-malformed', `bad address ${address}`);
  }
  return j;
}

export interface Resolved {
  to: Addressee;
  /** Set when the stanza is for one of the user's full JIDs: that session, if it exists. */
  ownResource?: string;
}

/** What the feature core needs from routing: the local server's Router, or one component user's. */
export interface StanzaRouter {
  resolve(to: string | undefined): Resolved;
  get(resource: string): Session | undefined;
  all(): Session[];
  deliver(stanza: Element): number;
}

/**
 * Who a `to` names, for the user `identity.user`. A peer is `<fingerprint>@<peer domain>`; the
 * gateway contact is the bare server domain. In component mode both domains are the component's.
 * `isLocal` (local mode) tells which other bare JIDs of the server domain are local accounts.
 */
export function resolveAddress(identity: XmppIdentity, to: string | undefined, isLocal?: (bare: string) => boolean): Resolved {
  if (!to) return { to: { kind: 'account' } };
  const j = toJid(to);
  const { domain, peerDomain, user } = identity;
  if (j.domain === peerDomain.toLowerCase() && j.local) {
    const id = j.local.toLowerCase();
    if (FINGERPRINT.test(id)) return { to: j.resource ? { kind: 'contact', id, resource: j.resource } : { kind: 'contact', id } };
  }
  if (j.domain === domain.toLowerCase()) {
    if (!j.local) return { to: { kind: 'server' } };
    if (j.local === user.local && user.domain.toLowerCase() === domain.toLowerCase()) {
      return j.resource ? { to: { kind: 'account' }, ownResource: j.resource } : { to: { kind: 'account' } };
    }
    const bare = `${j.local}@${j.domain}`;
    if (isLocal?.(bare)) return { to: j.resource ? { kind: 'local', jid: bare, resource: j.resource } : { kind: 'local', jid: bare } };
    return { to: { kind: 'unknown', jid: j } };
  }
  if (j.domain === peerDomain.toLowerCase() && !j.local) return { to: { kind: 'peers' } };
  return { to: { kind: 'unknown', jid: j } };
}

/** Whom a stanza for the user is for (no `to`: the user); undefined, and logged, when it is not the user. */
export function deliveryTarget(user: JID, stanza: Element, log: Logger): JID | undefined {
  let target: JID;
  try {
    target = stanza.attrs.to ? toJid(stanza.attrs.to) : user;
  } catch {
    log.warn({ to: stanza.attrs.to }, 'deliver: malformed to');
    return undefined;
  }
  if (target.local !== user.local || target.domain !== user.domain.toLowerCase()) {
    log.warn({ to: stanza.attrs.to }, 'deliver: not addressed to the user');
    return undefined;
  }
  return target;
}

export class Router implements StanzaRouter {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly identity: XmppIdentity,
    private readonly log: Logger,
    /** (Additive) Local mode: which bare JIDs are the gateway's other local accounts. */
    private readonly isLocal?: (bare: string) => boolean,
  ) {}

  /** Resolves a client's `to` attribute. Throws StanzaError('jid-malformed'). */
  resolve(to: string | undefined): Resolved {
    return resolveAddress(this.identity, to, this.isLocal);
  }

  add(session: Session): void {
    this.sessions.set(session.resource, session);
  }

  remove(session: Session): void {
    if (this.sessions.get(session.resource) === session) this.sessions.delete(session.resource);
  }

  get(resource: string): Session | undefined {
    return this.sessions.get(resource);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  /**
   * Delivers a stanza to the user: bare `to` (or none) to every available session,
   * full `to` to that session. Returns how many sessions got it.
   */
  deliver(stanza: Element): number {
    const target = deliveryTarget(this.identity.user, stanza, this.log);
    if (!target) return 0;
    if (target.resource) {
      const s = this.sessions.get(target.resource);
      if (!s) return 0;
      s.send(stanza);
      return 1;
    }
    let n = 0;
    for (const s of this.sessions.values()) {
      if (!s.available) continue;
      s.send(stanza);
      n++;
    }
    return n;
  }
}
