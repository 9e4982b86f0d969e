// Session lifecycle: bind (with conflict replacing the old session, RFC 6120 §7.7.2.2),
// and the one place a session ends (hooks, unavailable presence, unacked messages).
import { jid } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { StreamError } from '../errors.js';
import type { XmppIdentity } from '../feature.js';
import type { FeatureHost } from '../feature-host.js';
import type { HookBus } from '../hook-bus.js';
import type { SessionInfo } from '../hooks.js';
import type { Router } from '../router.js';
import type { StreamManagement } from '../xep-0198-stream-management.js';
import { Session, type SessionOutput } from './session.js';

/** A stream that can be told its session was taken over by a new bind. */
export interface BindableOutput extends SessionOutput {
  replaced(): void;
  /** (Additive) The account was removed: the stream ends with this error. */
  kick?(err: StreamError): void;
}

export interface SessionManagerOptions {
  identity: XmppIdentity;
  router: Router;
  hooks: HookBus;
  features: FeatureHost;
  log: Logger;
}

export class SessionManager {
  private counter = 0;
  sm!: StreamManagement;

  constructor(private readonly opts: SessionManagerOptions) {}

  /** Creates and registers the session; a session with that resource is ended first. */
  async bind(resource: string, output: BindableOutput, log: Logger): Promise<Session> {
    const old = this.opts.router.get(resource);
    if (old) {
      old.log.info('resource taken over by a new login');
      (old.output as BindableOutput | undefined)?.replaced();
      await this.end(old, 'conflict');
    }
    const { identity } = this.opts;
    const full = jid(identity.user.local, identity.domain, resource);
    const id = `s${++this.counter}`;
    const session = new Session(id, full, log.child({ jid: full.toString() }), (s) => {
      (s.output as BindableOutput | undefined)?.replaced();
      void this.end(s, 'unacked queue overflow');
    });
    session.output = output;
    this.opts.router.add(session);
    return session;
  }

  bound(session: Session): void {
    this.opts.hooks.emit('session-bound', session);
  }

  /**
   * Ends a session for good. Features see an unavailable presence if it was available,
   * then 'session-closed'. Messages the client never acknowledged (XEP-0198) go to the
   * user's other available sessions (unless one has a copy: 'message-handover'), else to the
   * 'message-undelivered' hook.
   */
  async end(session: Session, reason: string): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    session.output = undefined;
    this.opts.router.remove(session);
    this.sm.forget(session);
    session.log.info({ reason }, 'session ended');
    await this.opts.features.sessionGone(session);
    this.opts.hooks.emit('session-closed', session);
    const unacked = session.sm?.takeUnacked() ?? [];
    const user = this.opts.identity.user.toString();
    for (const stanza of unacked) {
      if (stanza.name !== 'message' || stanza.attrs.type === 'error') continue;
      // From the user's own bare JID: a copy made for this one session (XEP-0280 carbons) of a
      // message another session has; handing it over would show that message twice.
      if (stanza.attrs.from === user) continue;
      // Another session that has a copy of it already (a carbon) is enough: the user has seen it.
      const holders = new Set<SessionInfo>();
      this.opts.hooks.emit('message-handover', stanza, holders);
      if (holders.size > 0) continue;
      const copy = stanza.clone();
      copy.attrs.to = user;
      if (this.opts.router.deliver(copy, { quiet: true }) > 0) continue;
      if (this.opts.hooks.has('message-undelivered')) this.opts.hooks.emit('message-undelivered', copy);
      else session.log.warn({ id: stanza.attrs.id, from: stanza.attrs.from }, 'unacknowledged message lost: nobody to hand it to');
    }
  }
}
