// The transport mode's switchboard (XEP-0114 component, XEP-0100 gateway): every stanza from the
// server goes to the registered user who sent it, in order; strangers may only look at the
// gateway and register. Registering and unregistering (XEP-0077, or "register" typed to the
// gateway) create and delete the user's identity, peer session and features.
import { randomUUID } from 'node:crypto';
import { jid as parseJid, type JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { TlsimNetwork } from '../bridge/tlsim-network.js';
import type { PeerSessionMode } from '../config/schema.js';
import { componentFeatures } from '../features/index.js';
import { NS } from '../features/support/ns.js';
import { PUBSUB } from '../features/support/pubsub.js';
import { GATEWAY_IDENTITY, discoInfoQuery } from '../features/xep-0030-disco.js';
import {
  REGISTER_NS,
  answerRegistration,
  type RegistrationOutcome,
  type RegistrationService,
} from '../features/xep-0077-in-band-registration.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import type { OfflineBox } from '../xmpp/offline-box.js';
import { toJid } from '../xmpp/router.js';
import { errorReply, iqResult, stanzaKind } from '../xmpp/stanza.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { ComponentUser } from './component-user.js';
import { SwitchablePeerSession, type PeerSessionHooks } from './peer-session.js';
import { commandDone, registrationItems, registrationNode } from '../features/support/registration-commands.js';
import type { RegisteredUser, UserRegistry } from '../accounts/registry.js';

/** What the transport needs of the component stream (gateway/xmpp/xep-0114-component.ts). */
export interface ComponentStream {
  readonly domain: string;
  readonly online: boolean;
  send(stanza: Element): boolean;
}

export interface TransportOptions {
  stream: ComponentStream;
  registry: UserRegistry;
  /** A user's peer network (not started), over their identity and account. */
  makeNetwork: (user: RegisteredUser, log: Logger, o?: { anyPort?: boolean }) => TlsimNetwork;
  /** Where a user's stanzas wait for their next login (the store, in the daemon); default in memory. */
  offlineFor?: (user: RegisteredUser, log: Logger) => OfflineBox;
  /** What follows a user's links coming and going (their onion service). */
  sessionHooks?: (user: RegisteredUser, log: Logger) => PeerSessionHooks;
  peerSession: PeerSessionMode;
  log: Logger;
  features?: Feature[];
  graceMs?: number;
  /** Milliseconds since the epoch (tests); default Date.now. */
  now?: () => number;
}

const PRIVILEGE_NS = ['urn:xmpp:privilege:2', 'urn:xmpp:privilege:1'];
const hostOf = (jid: string): string => jid.slice(jid.indexOf('@') + 1);
/** New registrations accepted per minute, all users together. */
export const REGISTRATIONS_PER_MINUTE = 20;
const NOT_REGISTERED =
  'You are not registered with this tlsim gateway yet. Register from your client (service discovery → Register) ' +
  'or send "register" here; you get a tlsim identity of your own. Send "unregister" later to delete it.';

export class Transport implements RegistrationService {
  private readonly users = new Map<string, ComponentUser>();
  /** Registrations under way: a retried form and a typed "register" make one user, not two. */
  private readonly registering = new Map<string, Promise<RegistrationOutcome>>();
  /** Registrations in the current minute: a flood of strangers cannot make keys and listeners without end. */
  private readonly recent = { minute: 0, count: 0 };
  /** Servers that let us write their users' rosters (XEP-0356): each grants it for its own users only. */
  private readonly privilegedHosts = new Set<string>();
  /** Servers that let us publish to their users' PEP (XEP-0356 iq permission on pubsub, "set"): bookmarks. */
  private readonly pepHosts = new Set<string>();
  private readonly domain: string;
  private closed = false;

  constructor(private readonly opts: TransportOptions) {
    this.domain = opts.stream.domain.toLowerCase();
  }

  /** Brings up every registered user's features (and, for peer_session "always", their links). */
  async open(): Promise<void> {
    for (const account of this.opts.registry.accounts()) {
      try {
        const user = await this.opts.registry.load(account.jid);
        if (user) await this.addUser(user);
      } catch (err) {
        this.opts.log.error({ err, user: account.jid }, 'a registered user could not be loaded; the others go on');
      }
    }
  }

  get userCount(): number {
    return this.users.size;
  }

  user(jid: string): ComponentUser | undefined {
    return this.users.get(jid);
  }

  /** The stream is up: ask every user's server who is online, and show the gateway online. */
  streamUp(): void {
    for (const jid of this.users.keys()) {
      this.send(x('presence', { type: 'probe', from: this.domain, to: jid }));
      this.send(x('presence', { from: this.domain, to: jid }));
    }
  }

  /** The stream is down: no user is known online until their server tells us again. */
  async streamDown(): Promise<void> {
    await Promise.all([...this.users.values()].map((u) => u.streamDown()));
  }

  async close(): Promise<void> {
    this.closed = true;
    const users = [...this.users.values()];
    this.users.clear();
    await Promise.all(users.map((u) => u.close()));
  }

  /** One stanza from the server. Never throws. */
  onStanza(stanza: Element): void {
    const kind = stanzaKind(stanza);
    if (!kind || this.closed) return;
    let from: JID;
    let to: JID;
    try {
      from = toJid(stanza.attrs.from ?? '');
      to = toJid(stanza.attrs.to ?? '');
    } catch {
      this.opts.log.warn({ from: stanza.attrs.from, to: stanza.attrs.to }, 'stanza without a valid from/to dropped');
      return;
    }
    if (to.domain !== this.domain) {
      this.opts.log.warn({ to: stanza.attrs.to }, 'stanza for another domain dropped');
      return;
    }
    if (!from.local) return this.fromServer(stanza, from.domain);
    const bare = from.bare().toString();
    if (kind === 'message' && !to.local && this.registrationCommand(stanza, bare)) return;
    if (kind === 'iq' && !to.local && stanza.attrs.type === 'set' && this.registrationAdHoc(stanza, bare)) return;
    const user = this.users.get(bare);
    if (user) return user.enqueue(stanza, from);
    void this.stranger(stanza, bare, to).catch((err: unknown) => this.opts.log.error({ err }, 'answering an unregistered user failed'));
  }

  // ---- registration (RegistrationService) ------------------------------------------

  isRegistered(user: string): boolean {
    return this.users.has(user);
  }

  register(jid: string, existing?: { keyPem: string; certPem: string }): Promise<RegistrationOutcome> {
    const known = this.users.get(jid);
    if (known) {
      const self = known.network.selfInfo();
      return Promise.resolve({ fingerprint: self.fingerprint, share: self.share, created: false });
    }
    let running = this.registering.get(jid);
    if (!running) {
      running = this.registerNew(jid, existing).finally(() => this.registering.delete(jid));
      this.registering.set(jid, running);
    }
    return running;
  }

  private async registerNew(jid: string, existing?: { keyPem: string; certPem: string }): Promise<RegistrationOutcome> {
    const minute = Math.floor((this.opts.now ?? Date.now)() / 60_000);
    if (this.recent.minute !== minute) Object.assign(this.recent, { minute, count: 0 });
    if (++this.recent.count > REGISTRATIONS_PER_MINUTE) {
      this.opts.log.warn({ user: jid }, 'registration refused: too many in this minute');
      throw new StanzaError('resource-constraint', 'too many registrations right now; try again in a minute');
    }
    const user = await this.opts.registry.register(jid, existing);
    const added = await this.addUser(user);
    // Registered even if the links cannot start now: they start again at the user's next presence.
    await added.wake().catch((err: unknown) => this.opts.log.error({ err, user: jid }, 'the new user\'s peer session could not start'));
    const self = added.network.selfInfo();
    this.opts.log.info({ user: jid, fingerprint: user.identity.fingerprint, imported: Boolean(existing) }, 'user registered');
    // After the reply (XEP-0100 §4.1.1): ask to see the user's presence (it starts their peer
    // session), show the gateway online, and say what to do next.
    setImmediate(() => {
      this.send(x('presence', { type: 'subscribe', from: this.domain, to: jid }));
      this.send(x('presence', { from: this.domain, to: jid }));
      this.say(jid, welcome(user.identity.fingerprint, self.share, this.domain));
    });
    return { fingerprint: user.identity.fingerprint, share: self.share, created: true };
  }

  async unregister(jid: string): Promise<void> {
    // The user's own stanza (their <remove/>) is being answered: tear down after it.
    setImmediate(() => void this.teardown(jid).catch((err: unknown) => this.opts.log.error({ err, user: jid }, 'unregistering failed')));
  }

  private async teardown(jid: string): Promise<void> {
    const user = this.users.get(jid);
    if (!user) return;
    this.users.delete(jid);
    const contacts = user.network.listContacts().filter((c) => c.state === 'contact');
    await user.close();
    // XEP-0100 §4.3: every subscription between the user and the gateway's JIDs ends.
    for (const c of contacts) this.endSubscriptions(`${c.id}@${this.domain}`, jid);
    this.endSubscriptions(this.domain, jid);
    await this.opts.registry.unregister(jid);
    this.opts.log.info({ user: jid }, 'user unregistered: identity, contacts, queue and history deleted');
  }

  private endSubscriptions(from: string, to: string): void {
    this.send(x('presence', { type: 'unavailable', from, to }));
    if (this.isPrivilegedFor(to) && from !== this.domain) {
      this.send(x('iq', { type: 'set', id: randomUUID(), from: this.domain, to }, x('query', { xmlns: NS.roster }, x('item', { jid: from, subscription: 'remove' }))));
      return;
    }
    this.send(x('presence', { type: 'unsubscribe', from, to }));
    this.send(x('presence', { type: 'unsubscribed', from, to }));
  }

  private async addUser(reg: RegisteredUser): Promise<ComponentUser> {
    const jid = reg.account.jid;
    const log = this.opts.log.child({ user: jid });
    const network = new SwitchablePeerSession((o) => this.opts.makeNetwork(reg, log.child({ component: 'bridge' }), o), {
      ...this.opts.sessionHooks?.(reg, log),
      portTaken: (err) => log.warn({ err: err.message }, "the user's peer port is taken by another program: listening on a free one for now (their share string changes)"),
    });
    const user = new ComponentUser({
      user: parseJid(jid),
      domain: this.domain,
      features: this.opts.features ?? componentFeatures,
      network,
      send: (s) => this.send(s),
      streamOnline: () => this.opts.stream.online,
      log,
      peerSession: this.opts.peerSession,
      graceMs: this.opts.graceMs,
      featureConfig: {
        registration: { service: this },
        'component-roster': { privileged: () => this.isPrivilegedFor(jid) },
        muc: { serverBookmarks: { allowed: () => this.pepHosts.has(hostOf(jid)), send: (s: Element) => this.send(s) } },
      },
      offline: this.opts.offlineFor?.(reg, log),
    });
    await user.open();
    this.users.set(jid, user);
    return user;
  }

  /** XEP-0050 "register" / "unregister" executed on the gateway: true when it was one of them. */
  private registrationAdHoc(stanza: Element, jid: string): boolean {
    const node = registrationNode(stanza.elements()[0]);
    if (!node) return false;
    void this.registrationAction(node, jid).then(
      (r) => this.send(iqResult(stanza, commandDone(node, r.ok, r.text), stanza.attrs.from)),
      (err: unknown) => this.send(errorReply(stanza, this.registrationError(err, jid), stanza.attrs.from)),
    );
    return true;
  }

  /** "register" / "unregister" typed to the gateway: true when it was one of them. */
  private registrationCommand(stanza: Element, jid: string): boolean {
    const word = stanza.getChildText('body')?.trim().toLowerCase();
    if (word !== 'register' && word !== 'unregister') return false;
    if (stanza.attrs.type === 'error') return true;
    void this.registrationAction(word, jid).then(
      // A new user's welcome says it all.
      (r) => !r.created && this.say(jid, r.text),
      (err: unknown) => this.say(jid, this.registrationError(err, jid).text ?? 'Something went wrong inside the gateway; the log has the details.'),
    );
    return true;
  }

  /** Registering or unregistering as a command (ad-hoc or typed): what to tell the user. */
  private async registrationAction(what: 'register' | 'unregister', jid: string): Promise<{ ok: boolean; text: string; created?: boolean }> {
    if (what === 'register') {
      const r = await this.register(jid);
      const text = r.created ? `Registered. Your tlsim fingerprint: ${r.fingerprint}` : `You are registered already. Your tlsim fingerprint: ${r.fingerprint}`;
      return { ok: true, text, created: r.created };
    }
    if (!this.users.has(jid)) return { ok: false, text: 'You are not registered.' };
    await this.unregister(jid);
    return { ok: true, text: 'Unregistered: your tlsim identity, contacts, queued messages and history are deleted.' };
  }

  private registrationError(err: unknown, jid: string): StanzaError {
    if (err instanceof StanzaError) return err;
    this.opts.log.error({ err, user: jid }, 'registration command failed');
    return new StanzaError('internal-server-error', 'Something went wrong inside the gateway; the log has the details.');
  }

  // ---- strangers and the server --------------------------------------------------------

  private async stranger(stanza: Element, jid: string, to: JID): Promise<void> {
    const type = stanza.attrs.type;
    const toGateway = !to.local && !to.resource;
    if (stanza.name === 'iq') {
      if (type !== 'get' && type !== 'set') return;
      const payload = stanza.elements()[0];
      const ns = payload?.getNS();
      try {
        let result: Element | undefined;
        if (toGateway && payload?.name === 'query' && ns === REGISTER_NS) result = await answerRegistration(this, jid, type, payload);
        else if (toGateway && type === 'get' && ns === NS.discoInfo && payload?.attr('node') === undefined) {
          result = discoInfoQuery([GATEWAY_IDENTITY], [NS.discoInfo, NS.discoItems, REGISTER_NS, NS.commands, NS.ping]);
        } else if (toGateway && type === 'get' && ns === NS.discoItems) {
          const node = payload?.attr('node');
          result = x('query', { xmlns: NS.discoItems, node }, ...(node === NS.commands ? registrationItems(this.domain, false) : []));
        }
        else if (toGateway && type === 'get' && ns === NS.ping) result = undefined;
        else throw new StanzaError('registration-required', 'register with the gateway first');
        this.send(iqResult(stanza, result, stanza.attrs.from));
      } catch (err) {
        const e = err instanceof StanzaError ? err : new StanzaError('internal-server-error');
        if (!(err instanceof StanzaError)) this.opts.log.error({ err }, 'registration failed');
        this.send(errorReply(stanza, e, stanza.attrs.from));
      }
      return;
    }
    if (stanza.name === 'message') {
      if (type === 'error' || type === 'groupchat') return;
      if (toGateway && stanza.getChildText('body')) this.say(jid, NOT_REGISTERED);
      else if (!toGateway) this.send(errorReply(stanza, new StanzaError('registration-required', 'register with the gateway first'), stanza.attrs.from));
      return;
    }
    // Presence: the gateway itself may be seen; peers only by registered users.
    if (toGateway && type === 'subscribe') {
      this.send(x('presence', { type: 'subscribed', from: this.domain, to: jid }));
      this.send(x('presence', { from: this.domain, to: jid }));
    } else if (toGateway && type === 'probe') this.send(x('presence', { from: this.domain, to: jid }));
    else if (!toGateway && (type === 'subscribe' || type === 'probe')) {
      this.send(x('presence', { type: 'unsubscribed', from: stanza.attrs.to!, to: jid }));
    }
  }

  /** Stanzas from a server itself: its XEP-0356 grant; requests (none are served); results of what we sent. */
  private fromServer(stanza: Element, server: string): void {
    const type = stanza.attrs.type;
    if (stanza.name === 'iq' && (type === 'get' || type === 'set')) {
      this.send(errorReply(stanza, new StanzaError('service-unavailable'), stanza.attrs.from));
      return;
    }
    if (stanza.name === 'iq' && type === 'error') {
      // A privileged write (a bookmark) the server refused: said, nothing else depends on it.
      this.opts.log.warn({ server, id: stanza.attrs.id, error: stanza.getChild('error')?.elements()[0]?.name }, 'the server refused a privileged request (XEP-0356)');
      return;
    }
    if (stanza.name !== 'message') return;
    const privilege = stanza.elements().find((e) => e.name === 'privilege' && PRIVILEGE_NS.includes(e.getNS() ?? ''));
    if (!privilege) return;
    const perms = privilege.getChildren('perm');
    const roster = perms.find((p) => p.attr('access') === 'roster')?.attr('type');
    const granted = roster === 'set' || roster === 'both';
    const pubsub = perms.find((p) => p.attr('access') === 'iq')?.getChildren('namespace').find((n) => n.attr('ns') === PUBSUB.base)?.attr('type');
    const pep = pubsub === 'set' || pubsub === 'both';
    if (granted) this.privilegedHosts.add(server);
    else this.privilegedHosts.delete(server);
    if (pep) this.pepHosts.add(server);
    else this.pepHosts.delete(server);
    this.opts.log.info(
      { server, roster: roster ?? 'none', pubsub: pubsub ?? 'none' },
      (granted ? `${server} lets us write its users' rosters (XEP-0356)` : `no roster privilege from ${server}: contacts are offered by subscription`) +
        (pep ? '; rooms are bookmarked in their PEP' : '; no pubsub privilege: rooms are not bookmarked on the server'),
    );
  }

  /** The user's own server granted us their roster. */
  private isPrivilegedFor(jid: string): boolean {
    return this.privilegedHosts.has(hostOf(jid));
  }

  private say(to: string, text: string): void {
    this.send(x('message', { type: 'chat', id: randomUUID(), from: this.domain, to }, x('body', null, text)));
  }

  private send(stanza: Element): boolean {
    return this.opts.stream.send(stanza);
  }
}

function welcome(fingerprint: string, share: string | undefined, domain: string): string {
  return [
    'You are registered with the tlsim gateway.',
    `Your tlsim fingerprint: ${fingerprint}`,
    share ? `Peers reach you at: ${share}` : 'Peers reach you once your peer session is up (as soon as you are online).',
    `Add a peer: send "add tlsim://<fingerprint>@<host>:<port> [name]" here, or add <fingerprint>@${domain} to your contacts.`,
    'Send "help" for every command, "unregister" to delete your identity.',
  ].join('\n');
}
