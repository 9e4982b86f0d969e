// Routing for one registered user of the transport mode (XEP-0114): the user's resources are
// known from the presence their server sends us, and everything for the user goes out on the
// component stream. Messages and presence for the bare JID are sent once, to the bare JID,
// so the user's server applies its own rules (every resource, carbons, archive).
import { jid as makeJid, type JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { XmppIdentity } from '../xmpp/feature.js';
import { deliveryTarget, resolveAddress, routingJids, type Resolved, type StanzaRouter } from '../xmpp/router.js';
import { Session } from '../xmpp/stream/session.js';
import type { Element } from '../xmpp/xml/element.js';

/** Resources tracked per user; a client that invents resources without end cannot grow this. */
const MAX_RESOURCES = 32;

export class ComponentUserRouter implements StanzaRouter {
  private readonly sessions = new Map<string, Session>();
  /** The user's server speaking for the user (probes, subscriptions): one session, never available. */
  private bareSession: Session | undefined;
  private counter = 0;
  private readonly jids = routingJids();

  constructor(
    private readonly identity: XmppIdentity,
    /** Writes a stanza on the component stream; false when the stream is down. */
    private readonly send: (stanza: Element) => boolean,
    private readonly log: Logger,
  ) {}

  get user(): JID {
    return this.identity.user;
  }

  resolve(to: string | undefined): Resolved {
    return resolveAddress(this.identity, to, undefined, this.jids);
  }

  get(resource: string): Session | undefined {
    return this.sessions.get(resource);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  /** Available resources right now. */
  availableCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.available) n++;
    return n;
  }

  /**
   * The session of `from` (a full JID of the user): made on first sight. A bare JID (the user's
   * server speaking for the user: probes, subscriptions) gets a session that is not kept.
   * Undefined when the user already has MAX_RESOURCES resources.
   */
  sessionFor(from: JID): Session | undefined {
    if (!from.resource) return (this.bareSession ??= this.makeSession(makeJid(from.local, from.domain)));
    const known = this.sessions.get(from.resource);
    if (known) return known;
    if (this.sessions.size >= MAX_RESOURCES) {
      // Resources that never sent presence are the first to go.
      const idle = [...this.sessions.values()].find((s) => !s.available);
      if (!idle) return undefined;
      this.remove(idle);
    }
    const session = this.makeSession(from);
    this.sessions.set(from.resource, session);
    return session;
  }

  remove(session: Session): void {
    session.ended = true;
    if (this.sessions.get(session.resource) === session) this.sessions.delete(session.resource);
  }

  deliver(stanza: Element): number {
    const user = this.identity.user;
    const target = deliveryTarget(user, stanza, this.log, this.jids);
    if (!target) return 0;
    if (target.resource) {
      const s = this.sessions.get(target.resource);
      if (!s?.available) return 0;
      s.send(stanza);
      return 1;
    }
    const available = this.availableCount();
    if (available === 0) return 0;
    const copy = stanza.attrs.to ? stanza : stanza.clone();
    copy.attrs.to = user.toString();
    return this.send(copy) ? available : 0;
  }

  private makeSession(full: JID): Session {
    const session = new Session(`u${++this.counter}`, full, this.log.child({ jid: full.toString() }), () => undefined);
    session.output = {
      writeStanza: (el) => void this.send(el),
      sendNonza: () => undefined,
    };
    return session;
  }
}
