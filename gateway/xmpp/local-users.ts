// The local mode's accounts inside one XMPP server: each has its own router, hooks, feature set,
// sessions and stream management (so nothing of one account reaches another), and all of them
// find each other through one directory, as users of the same server do (RFC 6121 §8.5.2, §8.5.3).
import { jid as makeJid } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { PeerNetwork } from '../bridge/contract.js';
import { StreamError } from './errors.js';
import type { Feature, XmppIdentity } from './feature.js';
import { FeatureHost } from './feature-host.js';
import { HookBus } from './hook-bus.js';
import type { LocalAccount } from './local-account.js';
import type { LocalChange, LocalDirectory } from './local-directory.js';
import type { MessageArchive } from './message-archive.js';
import type { AccountFiles } from '../files/contract.js';
import type { UserData } from './user-data.js';
import { memoryOfflineBox, type OfflineBox } from './offline-box.js';
import { Router } from './router.js';
import type { BindableOutput } from './stream/sessions.js';
import { SessionManager } from './stream/sessions.js';
import { StreamManagement } from './xep-0198-stream-management.js';
import type { Element } from './xml/element.js';
import { x } from './xml/element.js';

const DELAY_NS = 'urn:xmpp:delay';

/** One local account as the server runs it. */
export interface LocalUserOptions {
  /** The account's identity: `user` is its bare JID (`<name>@<domain>`). */
  identity: XmppIdentity;
  network: PeerNetwork;
  /** Its password and SCRAM credentials. */
  account: LocalAccount;
  /** Where stanzas wait for its next login; default in memory. */
  offline?: OfflineBox;
  /** Its message history, for XEP-0313 (none: no archive queries). */
  archive?: MessageArchive;
  /** Its PEP, private XML and vCard; default an in-memory database. */
  userData?: UserData;
  /** (Additive) Its files (XEP-0363); none: no uploads. */
  files?: AccountFiles;
}

/** What every account shares: the feature list and the server's settings. */
export interface LocalUsersOptions {
  features: Feature[];
  log: Logger;
  featureConfig?: Record<string, Record<string, unknown>>;
  iqTimeoutMs?: number;
  smResumeTimeoutMs: number;
  smMaxUnacked: number;
}

export class LocalUser {
  readonly hooks: HookBus;
  readonly router: Router;
  readonly features: FeatureHost;
  readonly sessions: SessionManager;
  readonly sm: StreamManagement;
  readonly offline: OfflineBox;
  readonly log: Logger;
  /** Removed from the gateway: its streams are cut and nobody may bind to it any more. */
  closed = false;
  private readonly listeners: Array<(jid: string, change: LocalChange) => void> = [];

  constructor(
    readonly options: LocalUserOptions,
    directory: LocalUsers,
    shared: LocalUsersOptions,
  ) {
    const { identity } = options;
    this.log = shared.log.child({ account: identity.user.toString() });
    this.offline = options.offline ?? memoryOfflineBox();
    this.hooks = new HookBus(this.log.child({ part: 'hooks' }));
    this.router = new Router(identity, this.log.child({ part: 'router' }), this.hooks, (bare) => bare !== this.jid && directory.has(bare));
    this.features = new FeatureHost({
      identity,
      network: options.network,
      router: this.router,
      hooks: this.hooks,
      log: this.log,
      featureConfig: shared.featureConfig,
      iqTimeoutMs: shared.iqTimeoutMs,
      offline: this.offline,
      archive: options.archive,
      userData: options.userData,
      files: options.files,
      local: directory.viewFor(this),
    });
    this.sessions = new SessionManager({ identity, router: this.router, hooks: this.hooks, features: this.features, log: this.log });
    this.sm = new StreamManagement({
      resumeTimeoutMs: shared.smResumeTimeoutMs,
      maxUnacked: shared.smMaxUnacked,
      log: this.log,
      endSession: (s, reason) => void this.sessions.end(s, reason),
      ...(options.network.whenCommitted && { whenCommitted: (cb: (err?: Error) => void) => options.network.whenCommitted!(cb) }),
      ...(options.network.commitNow && { commitNow: () => options.network.commitNow!() }),
    });
    this.sessions.sm = this.sm;
  }

  get identity(): XmppIdentity {
    return this.options.identity;
  }

  get account(): LocalAccount {
    return this.options.account;
  }

  get network(): PeerNetwork {
    return this.options.network;
  }

  /** The bare JID, lowercase (as JIDs compare). */
  get jid(): string {
    return this.options.identity.user.toString().toLowerCase();
  }

  onChange(listener: (jid: string, change: LocalChange) => void): void {
    this.listeners.push(listener);
  }

  changed(jid: string, change: LocalChange): void {
    for (const l of this.listeners) {
      try {
        l(jid, change);
      } catch (err) {
        this.log.error({ err, jid, change }, 'account change handler failed');
      }
    }
  }

  /** Ends every session of the account, attached or waiting for resumption: their streams get `reason`. */
  async endAll(reason: string): Promise<void> {
    const sessions = new Set([...this.router.all(), ...this.sm.detachedSessions()]);
    for (const s of sessions) {
      (s.output as BindableOutput | undefined)?.kick?.(new StreamError('not-authorized', reason));
      await this.sessions.end(s, reason);
    }
  }
}

/** Every local account of the server, by bare JID. */
export class LocalUsers {
  private readonly users = new Map<string, LocalUser>();

  constructor(private readonly shared: LocalUsersOptions) {}

  /** Makes an account's runtime; it is not known to anyone until open(). */
  create(o: LocalUserOptions): LocalUser {
    return new LocalUser(o, this, this.shared);
  }

  /** Sets up its features, starts its peer network, and makes it known (other accounts' rosters get it). */
  async open(user: LocalUser): Promise<void> {
    if (this.users.has(user.jid)) throw new Error(`${user.jid} is already an account of this gateway`);
    await user.features.setup(this.shared.features);
    await user.network.start(user.features.sink);
    this.users.set(user.jid, user);
    for (const other of this.users.values()) if (other !== user) other.changed(user.jid, 'added');
  }

  /** Cuts the account's streams (its contacts see it leave), forgets it, and stops its peer network. */
  async close(jid: string, reason = 'this account was removed from the gateway'): Promise<LocalUser | undefined> {
    const user = this.users.get(jid.toLowerCase());
    if (!user) return undefined;
    user.closed = true;
    await user.endAll(reason);
    this.users.delete(user.jid);
    for (const other of this.users.values()) other.changed(user.jid, 'removed');
    await user.network.stop();
    return user;
  }

  has(bare: string): boolean {
    return this.users.has(bare.toLowerCase());
  }

  get(bare: string): LocalUser | undefined {
    return this.users.get(bare.toLowerCase());
  }

  /** The account a SASL username names (localparts compare case-insensitively), if it is open. */
  byUsername(username: string, domain: string): LocalUser | undefined {
    const user = this.users.get(`${username}@${domain}`.toLowerCase());
    return user && !user.closed ? user : undefined;
  }

  all(): LocalUser[] {
    return [...this.users.values()];
  }

  /** What `self`'s features see of the others. */
  viewFor(self: LocalUser): LocalDirectory {
    const others = (): LocalUser[] => [...this.users.values()].filter((u) => u !== self && !u.closed);
    const target = (stanza: Element): { user: LocalUser; resource: string | undefined } | undefined => {
      let to;
      try {
        to = makeJid(stanza.attrs.to ?? '');
      } catch {
        return undefined;
      }
      const user = this.users.get(`${to.local}@${to.domain}`);
      return user && user !== self && !user.closed ? { user, resource: to.resource || undefined } : undefined;
    };
    return {
      others: () => others().map((u) => u.jid).sort(),
      presences: (to, of) =>
        others()
          .filter((u) => of === undefined || u.jid === of.toLowerCase())
          .flatMap((u) => u.router.all().filter((s) => s.available && s.presence))
          .map((s) => {
            const p = s.presence!.clone();
            p.attrs.from = s.jid.toString();
            p.attrs.to = to;
            return p;
          }),
      deliver: (stanza) => {
        const t = target(stanza);
        if (!t) return 0;
        if (t.resource) {
          const s = t.user.router.get(t.resource);
          if (s) {
            s.send(stanza);
            return 1;
          }
          // RFC 6121 §8.5.3.2.1: to an unknown resource, as to the bare JID (the router's own rules).
          const bare = stanza.clone();
          bare.attrs.to = t.user.identity.user.toString();
          return t.user.router.deliver(bare);
        }
        return t.user.router.deliver(stanza);
      },
      session: (bare, resource) => {
        const u = this.users.get(bare.toLowerCase());
        return u && u !== self && !u.closed ? u.router.get(resource) : undefined;
      },
      keep: (stanza) => {
        const t = target(stanza);
        if (!t) return;
        const msg = stanza.clone();
        msg.attrs.to = t.user.identity.user.toString();
        if (!msg.getChild('delay', DELAY_NS)) msg.append(x('delay', { xmlns: DELAY_NS, from: t.user.identity.domain, stamp: new Date().toISOString() }));
        const dropped = t.user.offline.keep(msg);
        if (dropped > 0) t.user.log.warn({ dropped }, 'offline storage full: older messages dropped');
      },
      onChange: (listener) => self.onChange(listener),
    };
  }
}
