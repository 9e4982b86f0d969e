// The FeatureContext implementation: handler registries, stanza dispatch with the ONE
// central fallback (RFC 6120 §8.2.3: every get/set iq gets exactly one reply; §8.3 errors),
// and the GatewaySink that fans peer-network events out to features.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewaySink, PeerNetwork } from '../bridge/contract.js';
import { StanzaError } from './errors.js';
import {
  HANDLED,
  type AddresseeKind,
  type DiscoKind,
  type DeclaredIdentity,
  type Feature,
  type FeatureContext,
  type IqHandler,
  type StanzaContext,
  type StanzaHandler,
  type XmppIdentity,
} from './feature.js';
import type { HookBus } from './hook-bus.js';
import type { LocalDirectory } from './local-directory.js';
import type { SessionInfo } from './hooks.js';
import { memoryOfflineBox, type OfflineBox } from './offline-box.js';
import type { Resolved, StanzaRouter } from './router.js';
import type { MessageArchive } from './message-archive.js';
import type { AccountFiles } from '../files/contract.js';
import { errorReply, iqResult, stanzaKind, stripOwnStanzaIds } from './stanza.js';
import type { Session } from './stream/session.js';
import { memoryUserData, type UserData } from './user-data.js';
import { Element, x } from './xml/element.js';

type SinkHandlers = { [K in keyof GatewaySink]: Array<GatewaySink[K]> };

// Every GatewaySink method, checked by the compiler in both directions.
const SINK_EVENTS = {
  onText: true,
  onChatState: true,
  onMarker: true,
  onPeerOnline: true,
  onPeerOffline: true,
  onContactRequest: true,
  onContactChanged: true,
  onContactRemoved: true,
  onNotice: true,
} satisfies Record<Exclude<keyof GatewaySink, 'batch'>, true>;

export interface FeatureHostOptions {
  identity: XmppIdentity;
  network: PeerNetwork;
  router: StanzaRouter;
  hooks: HookBus;
  log: Logger;
  featureConfig?: Record<string, Record<string, unknown>>;
  /** A get/set iq handler that has not answered after this long gets remote-server-timeout (default 30 s). */
  iqTimeoutMs?: number;
  /** Transport mode: writes to the user's server (FeatureContext.toServer). */
  toServer?: (stanza: Element) => boolean;
  /** Where stanzas wait for the user's next login; default in memory. */
  offline?: OfflineBox;
  /** The account's message history, for XEP-0313 (none: no archive queries). */
  archive?: MessageArchive;
  /** (Additive) Local mode: the gateway's other local accounts. */
  local?: LocalDirectory;
  /** (Additive) The user's PEP, private XML and vCard; default an in-memory database. */
  userData?: UserData;
  /** (Additive) The account's files (XEP-0363); none: no uploads. */
  files?: AccountFiles;
}

/** Requests to clients waiting for their reply, at most (FeatureContext.request). */
const MAX_PENDING_REQUESTS = 256;
const REQUEST_TIMEOUT_MS = 10_000;

export class FeatureHost {
  private readonly iqs = new Map<string, { feature: string; handler: IqHandler }>();
  private readonly messages = new Map<AddresseeKind, StanzaHandler>();
  private readonly presences = new Map<AddresseeKind, StanzaHandler>();
  private readonly disco: Record<DiscoKind, string[]> = { server: [], account: [], contact: [], gatewayContact: [] };
  private readonly identities: Record<'server' | 'account', DeclaredIdentity[]> = { server: [], account: [] };
  /** Our iq requests to clients, by session id and iq id. */
  private readonly pending = new Map<string, (reply: Element) => void>();
  private userData: UserData | undefined;
  private readonly sinkHandlers = Object.fromEntries(Object.keys(SINK_EVENTS).map((k) => [k, []])) as unknown as SinkHandlers;
  /** The core's side of the bridge contract: each event goes to every subscribed feature. */
  readonly sink: GatewaySink;

  private readonly offline: OfflineBox;

  constructor(private readonly opts: FeatureHostOptions) {
    this.offline = opts.offline ?? memoryOfflineBox();
    const sink: Partial<Record<keyof GatewaySink, (...args: never[]) => void>> = {};
    for (const event of Object.keys(SINK_EVENTS) as Array<keyof GatewaySink>) {
      sink[event] = (...args: never[]) => {
        let unkept: unknown;
        for (const h of this.sinkHandlers[event] as Array<(...a: never[]) => unknown>) {
          try {
            const ret = h(...args);
            if (ret instanceof Promise) ret.catch((err: unknown) => this.opts.log.error({ err, event }, 'network event handler failed'));
          } catch (err) {
            this.opts.log.error({ err, event }, 'network event handler failed');
            unkept ??= storeError(err) ? err : undefined;
          }
        }
        // The network commits a peer's message with what the handlers wrote for it (the copy kept for an offline
        // user): told that the store failed, it rolls back and does not acknowledge the message. Other events
        // are of the moment, and their callers have no way back: logged only.
        if (unkept !== undefined && event === 'onText') throw unkept;
      };
    }
    this.sink = { ...(sink as GatewaySink), batch: (commit) => this.batch(commit) };
  }

  /** GatewaySink.batch: the user's sessions hold what they are sent until `commit` returned. */
  private batch<T>(commit: () => T): T {
    const sessions = this.opts.router.all();
    for (const s of sessions) s.hold();
    let ok = false;
    try {
      const result = commit();
      ok = true;
      return result;
    } finally {
      for (const s of sessions) s.release(ok);
    }
  }

  /** Runs each feature's setup in list order. */
  async setup(features: Feature[]): Promise<void> {
    for (const f of features) {
      for (const kind of Object.keys(this.disco) as DiscoKind[]) {
        for (const feat of f.disco?.[kind] ?? []) if (!this.disco[kind].includes(feat)) this.disco[kind].push(feat);
      }
      for (const kind of ['server', 'account'] as const) this.identities[kind].push(...(f.disco?.identities?.[kind] ?? []));
      await f.setup(this.context(f));
    }
  }

  private context(feature: Feature): FeatureContext {
    const { identity, network, router, hooks } = this.opts;
    const log = this.opts.log.child({ feature: feature.name });
    const once = <K>(map: Map<K, StanzaHandler>, kind: K, handler: StanzaHandler, what: string) => {
      if (map.has(kind)) throw new Error(`${feature.name}: a ${what} handler for ${String(kind)} is already registered`);
      map.set(kind, handler);
    };
    const data = () => this.data();
    return {
      identity,
      config: this.opts.featureConfig?.[feature.name] ?? {},
      log,
      network,
      iq: (kind, type, ns, name, handler) => {
        const key = iqKey(kind, type, ns, name);
        const prev = this.iqs.get(key);
        if (prev) throw new Error(`${feature.name}: iq ${key} is already handled by ${prev.feature}`);
        this.iqs.set(key, { feature: feature.name, handler });
      },
      message: (kind, handler) => once(this.messages, kind, handler, 'message'),
      presence: (kind, handler) => once(this.presences, kind, handler, 'presence'),
      on: (hook, handler) => hooks.on(hook, handler),
      onNetwork: (event, handler) => {
        (this.sinkHandlers[event] as unknown[]).push(handler);
      },
      sessions: () => router.all(),
      deliver: (stanza) => router.deliver(stanza),
      deliverStored: (session, stanza) => {
        session.send(stanza);
        if (stanza.name === 'message') hooks.emit('stored-delivered', session, stanza);
      },
      offline: this.offline,
      ...(this.opts.archive && { archive: this.opts.archive }),
      ...(this.opts.toServer && { toServer: this.opts.toServer }),
      ...(this.opts.local && { local: this.opts.local }),
      ...(this.opts.files && { files: this.opts.files }),
      discoFeatures: (kind) => [...this.disco[kind]],
      discoIdentities: (kind) => [...this.identities[kind]],
      // Created on first use: most features and test setups never touch it.
      get userData() {
        return data();
      },
      request: (session, iq, timeoutMs) => this.request(session, iq, timeoutMs),
    };
  }

  private data(): UserData {
    return (this.userData ??= this.opts.userData ?? memoryUserData());
  }

  private request(session: SessionInfo, iq: Element, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Element> {
    if (this.pending.size >= MAX_PENDING_REQUESTS) return Promise.reject(new Error('too many requests to clients waiting'));
    const id = `gw-${randomUUID()}`;
    const key = `${session.id} ${id}`;
    const stanza = iq.clone();
    stanza.attrs.id = id;
    stanza.attrs.to = session.jid.toString();
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`no reply from ${session.jid.toString()} in ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(key, (reply) => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(reply);
      });
      session.send(stanza);
    });
  }

  /** Handles one stanza from a bound session. Never throws. */
  async handleStanza(session: Session, stanza: Element): Promise<void> {
    const kind = stanzaKind(stanza);
    if (!kind) return;
    // The sender is who the session is, whatever the client wrote.
    stanza.attrs.from = session.jid.toString();
    let resolved: Resolved;
    try {
      resolved = this.opts.router.resolve(stanza.attrs.to);
    } catch (err) {
      if (err instanceof StanzaError) this.bounce(session, stanza, err);
      return;
    }
    if (kind === 'iq') return this.handleIq(session, stanza, resolved);
    // XEP-0359 §4: a stanza-id naming the user's archive is ours to give; one a client wrote is forged.
    if (kind === 'message') {
      stripOwnStanzaIds(stanza, this.opts.identity.user.bare().toString());
      return this.handleMessage(session, stanza, resolved);
    }
    return this.handlePresence(session, stanza, resolved);
  }

  private async handleIq(session: Session, stanza: Element, r: Resolved): Promise<void> {
    const type = stanza.attrs.type;
    const isRequest = type === 'get' || type === 'set';
    // A client's reply to one of our requests (FeatureContext.request).
    const waiting = isRequest ? undefined : this.pending.get(`${session.id} ${stanza.attrs.id ?? ''}`);
    if (waiting) return waiting(stanza);
    if (r.ownResource !== undefined) {
      const target = this.opts.router.get(r.ownResource);
      if (target) return void target.send(stanza);
      if (isRequest) this.bounce(session, stanza, new StanzaError('service-unavailable'));
      return;
    }
    // Another local account's resource: its session answers, as on any server (RFC 6120 §10.5.3).
    if (r.to.kind === 'local' && r.to.resource !== undefined) {
      const target = this.opts.local?.session(r.to.jid, r.to.resource);
      if (target) return void target.send(stanza);
      if (isRequest) this.bounce(session, stanza, new StanzaError('service-unavailable'));
      return;
    }
    if (!isRequest) {
      // Never answer a result or an error (RFC 6120 §8.2.3); nobody here waits for one.
      if (type !== 'result' && type !== 'error') this.bounce(session, stanza, new StanzaError('bad-request', 'iq type'));
      else session.log.debug({ id: stanza.attrs.id, type, error: stanza.getChild('error')?.elements()[0]?.name }, 'iq response dropped');
      return;
    }
    const children = stanza.elements();
    if (children.length !== 1) {
      this.bounce(session, stanza, new StanzaError('bad-request', 'an iq request carries exactly one payload'));
      return;
    }
    const payload = children[0]!;
    const entry = this.iqs.get(iqKey(r.to.kind, type, payload.getNS() ?? '', payload.name));
    if (!entry) {
      // The ONE central fallback.
      this.bounce(session, stanza, new StanzaError('service-unavailable'));
      return;
    }
    // Every request gets exactly one reply, even from a handler that never finishes.
    let answered = false;
    const reply = (send: () => void) => {
      if (answered) return;
      answered = true;
      send();
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        session.log.error({ feature: entry.feature, ns: payload.getNS(), name: payload.name }, 'iq handler timed out');
        reply(() => this.bounce(session, stanza, new StanzaError('remote-server-timeout', 'no answer in time')));
        resolve();
      }, this.opts.iqTimeoutMs ?? 30_000);
      timer.unref();
    });
    const run = (async () => {
      try {
        const result = await entry.handler({ stanza, from: session.jid, to: r.to, session, type, payload });
        if (result === HANDLED) return void (answered = true);
        reply(() => session.send(iqResult(stanza, result instanceof Element ? result : undefined, session.jid.toString())));
      } catch (err) {
        reply(() => this.bounce(session, stanza, this.toStanzaError(err, session, entry.feature)));
      }
    })();
    await Promise.race([run, timeout]);
    clearTimeout(timer);
  }

  private async handleMessage(session: Session, stanza: Element, r: Resolved): Promise<void> {
    if (r.ownResource !== undefined) {
      const target = this.opts.router.get(r.ownResource);
      // RFC 6121 §8.5.3.2.1: a message to an unknown resource is treated as to the bare JID.
      if (target) return void target.send(stanza);
    }
    const handler = this.messages.get(r.to.kind);
    if (!handler) {
      this.bounce(session, stanza, new StanzaError('service-unavailable'));
      return;
    }
    // Before the handler: features may copy it (XEP-0280) or take out what is only for the server.
    if (r.to.kind !== 'account') this.opts.hooks.emit('message-sent', session, stanza);
    await this.runHandler(handler, session, stanza, r);
  }

  private async handlePresence(session: Session, stanza: Element, r: Resolved): Promise<void> {
    if (r.ownResource !== undefined) {
      const target = this.opts.router.get(r.ownResource);
      if (target) target.send(stanza);
      return; // RFC 6121 §8.5.3.2.1: presence to an unknown resource is ignored.
    }
    const type = stanza.attrs.type;
    // Presence to the user's own bare JID counts as broadcast presence.
    if (r.to.kind === 'account' && (type === undefined || type === 'unavailable')) {
      this.updateAvailability(session, stanza);
    }
    // The hook first: features send contact presences; then the handler sees the stanza.
    if (r.to.kind === 'account' && type === undefined && !session.initialPresenceSent) {
      session.initialPresenceSent = true;
      this.opts.hooks.emit('initial-presence', session);
    }
    if (r.to.kind === 'account' && (type === undefined || type === 'unavailable')) this.opts.hooks.emit('presence-broadcast', session, stanza);
    const handler = this.presences.get(r.to.kind);
    if (handler) await this.runHandler(handler, session, stanza, r);
  }

  /** Broadcast presence: the core tracks availability before any feature sees it. */
  private updateAvailability(session: Session, stanza: Element): void {
    if (stanza.attrs.type === 'unavailable') {
      session.available = false;
      session.presence = undefined;
    } else {
      session.available = true;
      session.presence = stanza;
    }
  }

  /** A session ends while available: features see an unavailable presence, as if sent. */
  async sessionGone(session: Session): Promise<void> {
    if (!session.available) return;
    session.available = false;
    session.presence = undefined;
    const stanza = x('presence', { type: 'unavailable', from: session.jid.toString() });
    this.opts.hooks.emit('presence-broadcast', session, stanza);
    const handler = this.presences.get('account');
    if (!handler) return;
    try {
      await handler({ stanza, from: session.jid, to: { kind: 'account' }, session });
    } catch (err) {
      this.opts.log.error({ err }, 'presence handler failed on session end');
    }
  }

  private async runHandler(handler: StanzaHandler, session: Session, stanza: Element, r: Resolved): Promise<void> {
    const ctx: StanzaContext = { stanza, from: session.jid, to: r.to, session };
    try {
      await handler(ctx);
    } catch (err) {
      this.bounce(session, stanza, this.toStanzaError(err, session, stanza.name));
    }
  }

  private toStanzaError(err: unknown, session: Session, where: string): StanzaError {
    if (err instanceof StanzaError) return err;
    session.log.error({ err, where }, 'handler failed');
    return new StanzaError('internal-server-error');
  }

  /** Sends an error reply, except for stanzas that are themselves errors (no loops). */
  private bounce(session: Session, stanza: Element, err: StanzaError): void {
    if (stanza.attrs.type === 'error' || (stanza.name === 'iq' && stanza.attrs.type === 'result')) return;
    session.send(errorReply(stanza, err, session.jid.toString()));
  }
}

function iqKey(kind: AddresseeKind, type: string, ns: string, name: string): string {
  return `${kind} ${type} {${ns}}${name}`;
}

/** A failure of the database (SQLite's codes: disk full, read-only, I/O): the message was not kept. */
function storeError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}
