// One registered user of the transport mode: their features (the same modules as the local
// server, one FeatureHost per user), their resources as their server reports them, and their
// peer session, switched by presence (component.peer_session). Stanzas are handled in order.
import type { JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { PeerSessionMode } from '../config/schema.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, XmppIdentity } from '../xmpp/feature.js';
import { FeatureHost } from '../xmpp/feature-host.js';
import { HookBus } from '../xmpp/hook-bus.js';
import type { OfflineBox } from '../xmpp/offline-box.js';
import { errorReply } from '../xmpp/stanza.js';
import type { Session } from '../xmpp/stream/session.js';
import { x, type Element } from '../xmpp/xml/element.js';
import type { SwitchablePeerSession } from './peer-session.js';
import { ComponentUserRouter } from './user-router.js';

/** How long a user's peers stay linked after their last resource left (a client reconnecting loses nothing). */
const OFFLINE_GRACE_MS = 120_000;
/** Stanzas from one user waiting to be handled; a flood beyond this is refused, not buffered. */
const MAX_PENDING = 1000;
/**
 * A resource we know only because it wrote to us (its presence is not ours to see) counts as
 * online this long after its last stanza: nothing will ever tell us it left.
 */
const IMPLIED_PRESENCE_MS = 10 * 60_000;

export interface ComponentUserOptions {
  /** The user's bare JID. */
  user: JID;
  /** Our component domain: the gateway contact and the peers' domain. */
  domain: string;
  features: Feature[];
  network: SwitchablePeerSession;
  /** Writes on the component stream; false while it is down. */
  send: (stanza: Element) => boolean;
  /** The component stream is up (what is handed to a session now reaches the user's server). */
  streamOnline: () => boolean;
  log: Logger;
  peerSession: PeerSessionMode;
  graceMs?: number;
  iqTimeoutMs?: number;
  /** Per-feature settings (e.g. whether the server granted us the user's roster, XEP-0356). */
  featureConfig?: Record<string, Record<string, unknown>>;
  /** Where stanzas wait for the user's next login; default in memory. */
  offline?: OfflineBox;
}

export class ComponentUser {
  readonly identity: XmppIdentity;
  readonly router: ComponentUserRouter;
  private readonly hooks: HookBus;
  private readonly host: FeatureHost;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private grace: NodeJS.Timeout | undefined;
  private closed = false;
  /** Resources online by implication (see IMPLIED_PRESENCE_MS), each with its expiry. */
  private readonly implied = new Map<Session, NodeJS.Timeout>();

  constructor(private readonly opts: ComponentUserOptions) {
    this.identity = { domain: opts.domain, peerDomain: opts.domain, user: opts.user, component: true };
    this.router = new ComponentUserRouter(this.identity, opts.send, opts.log);
    this.hooks = new HookBus(opts.log.child({ part: 'hooks' }));
    this.host = new FeatureHost({
      identity: this.identity,
      network: opts.network,
      router: this.router,
      hooks: this.hooks,
      log: opts.log,
      iqTimeoutMs: opts.iqTimeoutMs,
      toServer: opts.send,
      featureConfig: opts.featureConfig,
      offline: opts.offline,
    });
  }

  get jid(): string {
    return this.opts.user.toString();
  }

  get network(): SwitchablePeerSession {
    return this.opts.network;
  }

  /** Features first, then network events may flow; with peer_session "always" the links start now. */
  async open(): Promise<void> {
    await this.host.setup(this.opts.features);
    await this.opts.network.start(this.host.sink);
    if (this.opts.peerSession === 'always') await this.opts.network.goOnline();
  }

  /** The user just registered: links up now; if their presence never comes, the grace period ends them. */
  async wake(): Promise<void> {
    await this.opts.network.goOnline();
    if (this.router.availableCount() === 0) this.startGrace();
  }

  /** Queues a stanza from the user (their server set and checked `from`); handled in arrival order. */
  enqueue(stanza: Element, from: JID): void {
    if (this.closed) return;
    if (this.pending >= MAX_PENDING) {
      this.bounce(stanza, new StanzaError('resource-constraint', 'too many stanzas at once; slow down'));
      return;
    }
    this.pending++;
    this.run(() => this.handle(stanza, from)).finally(() => void this.pending--);
  }

  /** One step after all before it: stanzas, the stream going down and presence expiry never interleave. */
  private run(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step).catch((err: unknown) => this.opts.log.error({ err }, 'stanza handling failed'));
    this.chain = next;
    return next;
  }

  /** Resolves once every stanza queued so far is handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async handle(stanza: Element, from: JID): Promise<void> {
    const session = this.router.sessionFor(from);
    if (!session) {
      this.bounce(stanza, new StanzaError('resource-constraint', 'too many resources online at once'));
      return;
    }
    // Presence to a room (joining, leaving: XEP-0045 §7.2, §7.14) is for the rooms, not who is online.
    const toRoom = stanza.name === 'presence' && this.addressedToRoom(stanza);
    if (stanza.name === 'presence' && !toRoom) {
      const type = stanza.attrs.type;
      // Available and unavailable presence (broadcast copies and directed) only tells us who is online.
      if (type === undefined || type === 'unavailable') {
        if (from.resource) await this.availability(session, type === undefined ? stanza : undefined);
        return;
      }
    } else if (from.resource && stanza.attrs.type !== 'error' && stanza.attrs.type !== 'unavailable' && (!session.initialPresenceSent || this.implied.has(session))) {
      // A user who never let us see their presence is online all the same when one of their
      // resources writes to us: their contacts' presence and waiting messages go to them.
      this.implyPresence(session);
      if (!session.initialPresenceSent) await this.availability(session, x('presence', { from: from.toString() }), true);
    }
    await this.host.handleStanza(session, stanza);
  }

  private addressedToRoom(stanza: Element): boolean {
    try {
      return this.router.resolve(stanza.attrs.to).to.kind === 'room';
    } catch {
      return false; // a malformed address: the feature core answers it
    }
  }

  /** (Re)starts the expiry of a resource that is online only by implication. */
  private implyPresence(session: Session): void {
    clearTimeout(this.implied.get(session));
    const timer = setTimeout(() => {
      if (this.implied.get(session) !== timer) return;
      void this.run(async () => {
        await this.leave(session);
        if (this.router.availableCount() === 0) this.startGrace();
      });
    }, IMPLIED_PRESENCE_MS);
    timer.unref();
    this.implied.set(session, timer);
  }

  private async availability(session: Session, presence: Element | undefined, implied = false): Promise<void> {
    if (presence) {
      // Real presence from a resource we had only implied: its own unavailable will come.
      if (!implied) this.forgetImplied(session);
      session.available = true;
      session.presence = presence;
      if (session.initialPresenceSent) return;
      session.initialPresenceSent = true;
      this.cancelGrace();
      if (this.opts.peerSession === 'presence') {
        await this.opts.network.goOnline().catch((err: unknown) => this.opts.log.error({ err }, 'the peer session could not start; tried again at the next presence'));
      }
      // Gone meanwhile (the stream dropped): what the hook hands out (waiting messages) would be lost.
      if (session.ended || !this.opts.streamOnline()) {
        session.initialPresenceSent = false;
        return;
      }
      this.opts.log.info({ resource: session.resource }, 'user online');
      this.hooks.emit('initial-presence', session);
      return;
    }
    await this.leave(session);
    if (this.router.availableCount() === 0) this.startGrace();
  }

  private forgetImplied(session: Session): void {
    clearTimeout(this.implied.get(session));
    this.implied.delete(session);
  }

  private async leave(session: Session): Promise<void> {
    this.forgetImplied(session);
    const known = session.initialPresenceSent;
    await this.host.sessionGone(session);
    this.router.remove(session);
    if (!known) return;
    this.opts.log.info({ resource: session.resource }, 'user offline');
    this.hooks.emit('session-closed', session);
  }

  /** The component stream went down: nobody of this user is reachable until their server says so again. */
  streamDown(): Promise<void> {
    return this.run(async () => {
      for (const s of this.router.all()) await this.leave(s);
      this.startGrace();
    });
  }

  /** With peer_session "presence", the links close a while after the last resource left. */
  private startGrace(): void {
    if (this.opts.peerSession !== 'presence' || this.grace || this.closed) return;
    this.grace = setTimeout(() => {
      this.grace = undefined;
      if (this.router.availableCount() > 0) return;
      this.opts.log.info('user away: closing their peer links');
      void this.opts.network.goOffline().catch((err: unknown) => this.opts.log.error({ err }, 'closing peer links failed'));
    }, this.opts.graceMs ?? OFFLINE_GRACE_MS);
  }

  private cancelGrace(): void {
    clearTimeout(this.grace);
    this.grace = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelGrace();
    for (const timer of this.implied.values()) clearTimeout(timer);
    this.implied.clear();
    await this.chain;
    await this.opts.network.stop();
  }

  private bounce(stanza: Element, err: StanzaError): void {
    if (stanza.attrs.type === 'error' || stanza.attrs.type === 'result') return;
    this.opts.send(errorReply(stanza, err, stanza.attrs.from));
  }
}
