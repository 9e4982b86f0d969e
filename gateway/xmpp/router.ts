// Addressing and delivery for the one local user (RFC 6120 §8.1.1, §10; RFC 6121 §8.5):
// who a stanza from the user is for, and which sessions get a stanza for the user.
import { jid as parseJid, type JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import { StanzaError } from './errors.js';
import { conferenceDomain, directoryDomain, uploadDomain, type Addressee, type XmppIdentity } from './feature.js';
import type { HookBus } from './hook-bus.js';
import { JidCache } from './jid-cache.js';
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
export function resolveAddress(
  identity: XmppIdentity,
  to: string | undefined,
  isLocal?: (bare: string) => boolean,
  jids?: JidCache,
): Resolved {
  if (!to) return { to: { kind: 'account' } };
  const j = jids ? jids.get(to) : toJid(to);
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
    // As a component, the rooms sit beside the peers: any other localpart names a room (docs/rooms.md).
    if (identity.component) return { to: roomAddressee(j) };
    return { to: { kind: 'unknown', jid: j } };
  }
  if (j.domain === peerDomain.toLowerCase() && !j.local) return { to: { kind: 'peers' } };
  if (j.domain === conferenceDomain(identity)) {
    if (!j.local) return { to: { kind: 'conference' } };
    return { to: roomAddressee(j) };
  }
  if (j.domain === uploadDomain(identity) && !j.local) return { to: { kind: 'upload' } };
  if (j.domain === directoryDomain(identity) && !j.local && !j.resource) return { to: { kind: 'directory' } };
  return { to: { kind: 'unknown', jid: j } };
}

function roomAddressee(j: JID): Addressee {
  const room = j.local.toLowerCase();
  return j.resource ? { kind: 'room', room, nick: j.resource } : { kind: 'room', room };
}

/** Whom a stanza for the user is for (no `to`: the user); undefined, and logged, when it is not the user. */
export function deliveryTarget(user: JID, stanza: Element, log: Logger, jids?: JidCache): JID | undefined {
  let target: JID;
  const to = stanza.attrs.to;
  try {
    target = to ? (jids ? jids.get(to) : toJid(to)) : user;
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

/** A router's cache of the addresses it parses (a JID parse was 2–4 % of a relaying gateway's CPU). */
export const routingJids = (): JidCache => new JidCache(toJid);

export class Router implements StanzaRouter {
  private readonly sessions = new Map<string, Session>();
  private readonly jids = routingJids();

  constructor(
    private readonly identity: XmppIdentity,
    private readonly log: Logger,
    /** (Additive) Where 'message-delivered' goes; without it nobody hears of deliveries. */
    private readonly hooks?: HookBus,
    /** (Additive) Local mode: which bare JIDs are the gateway's other local accounts. */
    private readonly isLocal?: (bare: string) => boolean,
  ) {}

  /** Resolves a client's `to` attribute. Throws StanzaError('jid-malformed'). */
  resolve(to: string | undefined): Resolved {
    return resolveAddress(this.identity, to, this.isLocal, this.jids);
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
   * Delivers a stanza to the user: full `to` to that session; bare `to` (or none) as RFC 6121
   * §8.5.2 says (see recipients). Returns how many sessions got it (0: the caller may store it).
   * `quiet`: the core hands over what a dead session never acknowledged; no 'message-delivered'.
   */
  deliver(stanza: Element, opts: { quiet?: boolean } = {}): number {
    const target = deliveryTarget(this.identity.user, stanza, this.log, this.jids);
    if (!target) return 0;
    let to: Session[];
    if (target.resource) {
      const s = this.sessions.get(target.resource);
      to = s ? [s] : [];
    } else {
      to = recipients(stanza, [...this.sessions.values()]);
    }
    for (const s of to) s.send(stanza);
    if (to.length > 0 && stanza.name === 'message' && !opts.quiet) this.hooks?.emit('message-delivered', stanza, to);
    return to.length;
  }
}

/**
 * Who of the user's sessions gets a stanza for the bare JID (RFC 6121 §8.5.2.1, §8.5.2.2).
 * Presence (and anything but a message): every available resource. A chat or normal message:
 * the available resources with the highest priority, all of them on a tie, never one with a
 * negative priority (§8.5.2.1.1 option a: the "most available" ones). A headline: every
 * non-negative one. An error or a groupchat message: nobody (ignored; there is no group chat here).
 */
export function recipients<S extends { available: boolean; priority: number }>(stanza: Element, sessions: readonly S[]): S[] {
  const available = sessions.filter((s) => s.available);
  if (stanza.name !== 'message') return available;
  const type = stanza.attrs.type ?? 'normal';
  if (type === 'error' || type === 'groupchat') return [];
  const willing = available.filter((s) => s.priority >= 0);
  if (type === 'headline') return willing;
  const top = Math.max(...willing.map((s) => s.priority));
  return willing.filter((s) => s.priority === top);
}
