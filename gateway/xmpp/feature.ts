// What a feature module is and what it may use (Prosody-style plugins, one file per spec).
// A feature declares its disco features and registers handlers in setup(ctx); features
// never import each other. The core answers every iq nobody handled with
// service-unavailable, in one place, and never answers an error or a result.
import type { JID } from '@xmpp/jid';
import type { Logger } from 'pino';
import type { GatewaySink, PeerId, PeerNetwork } from '../bridge/contract.js';
import type { AccountFiles } from '../files/contract.js';
import type { Hooks, SessionInfo } from './hooks.js';
import type { MessageArchive } from './message-archive.js';
import type { LocalDirectory } from './local-directory.js';
import type { OfflineBox } from './offline-box.js';
import type { UserData } from './user-data.js';
import type { Element } from './xml/element.js';

/** Who a stanza from the user is addressed to, resolved once by the core. */
export type Addressee =
  /** No `to`, or the user's own bare JID. */
  | { kind: 'account' }
  /** The server domain (e.g. `localhost`), which is also the "tlsim gateway" contact. */
  | { kind: 'server' }
  /** The peer domain itself (e.g. `peers.localhost`). */
  | { kind: 'peers' }
  /** A peer: `<fingerprint>@<peer domain>[/resource]`. `id` is the lowercase fingerprint. */
  | { kind: 'contact'; id: PeerId; resource?: string }
  /** (Additive) Another local account of this gateway: `<name>@<domain>[/resource]`; `jid` is its bare JID. */
  | { kind: 'local'; jid: string; resource?: string }
  /** (Additive) Local mode: the MUC service `conference.<domain>` itself (reference chat rooms, docs/rooms.md; as a component the service is the domain, kind 'server'). */
  | { kind: 'conference' }
  /** (Additive) Local mode: the FOAF directory `directory.<domain>` (XEP-0055 search, issue 13). */
  | { kind: 'directory' }
  /**
   * (Additive) A room of that service, `<room>@conference.<domain>[/nick]`; `room` lowercased. As a component:
   * `<room>@<component domain>[/nick]`, any localpart there that is not a fingerprint (docs/rooms.md).
   */
  | { kind: 'room'; room: string; nick?: string }
  /** (Additive) Local mode: the file upload service `upload.<domain>` (XEP-0363). */
  | { kind: 'upload' }
  /** A JID under the peer domain that is not a fingerprint, or any other domain. */
  | { kind: 'unknown'; jid: JID };

export type AddresseeKind = Addressee['kind'];

/**
 * The domain of the gateway's rooms: `conference.<domain>` locally; as a component the component domain itself,
 * where rooms sit beside the peers (`<room>@<domain>`, never 64 hex digits; docs/rooms.md, "Component mode").
 */
export function conferenceDomain(identity: Pick<XmppIdentity, 'domain' | 'component'>): string {
  return identity.component ? identity.domain.toLowerCase() : `conference.${identity.domain.toLowerCase()}`;
}

/** The XEP-0363 service of a local-mode gateway (a component's users upload to their own server). */
export function uploadDomain(identity: Pick<XmppIdentity, 'domain' | 'component'>): string | undefined {
  return identity.component ? undefined : `upload.${identity.domain.toLowerCase()}`;
}

/** The FOAF directory's search service of a local-mode gateway (as a component, the user's server names its services). */
export function directoryDomain(identity: Pick<XmppIdentity, 'domain' | 'component'>): string | undefined {
  return identity.component ? undefined : `directory.${identity.domain.toLowerCase()}`;
}

export interface StanzaContext {
  /** The whole stanza as the client sent it. */
  readonly stanza: Element;
  /** The sender's full JID (the core stamps it; a client's `from` is never trusted). */
  readonly from: JID;
  readonly to: Addressee;
  /** The session the stanza came in on. */
  readonly session: SessionInfo;
}

export interface IqRequest extends StanzaContext {
  readonly type: 'get' | 'set';
  /** The iq's one child element (the core rejects iqs with zero or several children). */
  readonly payload: Element;
}

/** Returned by a handler that has sent its reply itself. */
export const HANDLED: unique symbol = Symbol('handled');

/**
 * An iq handler returns the payload of the result (an Element), nothing for an empty
 * result, or HANDLED; or throws a StanzaError. Anything else thrown becomes
 * internal-server-error and is logged.
 */
export type IqResult = Element | null | undefined | void | typeof HANDLED;
export type IqHandler = (req: IqRequest) => IqResult | Promise<IqResult>;

/** Message and presence handlers may throw a StanzaError: the core bounces it to the sender. */
export type StanzaHandler = (req: StanzaContext) => void | Promise<void>;

export interface XmppIdentity {
  /** Server domain, e.g. `localhost`. */
  readonly domain: string;
  /** Domain of peer JIDs, e.g. `peers.localhost`. */
  readonly peerDomain: string;
  /** The local user's bare JID, e.g. `me@localhost`. */
  readonly user: JID;
  /**
   * Transport mode (XEP-0114): we are a component of the user's own server; `domain` and
   * `peerDomain` are both the component domain, and the gateway contact is a gateway (XEP-0100).
   */
  readonly component?: boolean;
}

/** Disco#info features a feature adds, per kind of entity. */
export interface DiscoDeclaration {
  server?: string[];
  account?: string[];
  contact?: string[];
  /**
   * Features only a contact whose peer is a tlsim-gateway (Contact.gateway) has, on top of `contact`:
   * what needs the other user's client to answer (receipts, markers, typing). A reference peer never can.
   */
  gatewayContact?: string[];
  /** (Additive) Identities it adds to the server's and the account's disco#info (e.g. pubsub/pep). */
  identities?: { server?: DeclaredIdentity[]; account?: DeclaredIdentity[] };
}

export interface DeclaredIdentity {
  readonly category: string;
  readonly type: string;
  readonly name?: string;
}

export type DiscoKind = Exclude<keyof DiscoDeclaration, 'identities'>;

export interface FeatureContext {
  readonly identity: XmppIdentity;
  /** This feature's slice of the config (an empty object when it has none). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly log: Logger;
  readonly network: PeerNetwork;

  /** Handle iqs of `type` whose payload is `<name xmlns=ns>`, addressed to `kind`. One handler per key. */
  iq(kind: AddresseeKind, type: 'get' | 'set', ns: string, name: string, handler: IqHandler): void;
  /** Handle `<message/>` from the user to `kind`. One handler per kind. */
  message(kind: AddresseeKind, handler: StanzaHandler): void;
  /**
   * Handle `<presence/>` from the user to `kind` ('account' = broadcast presence, after the
   * core has updated the session's availability). One handler per kind.
   */
  presence(kind: AddresseeKind, handler: StanzaHandler): void;

  /** Subscribe to core hooks. */
  on<K extends keyof Hooks>(hook: K, handler: Hooks[K]): void;
  /** Subscribe to peer-network events (the core is the GatewaySink and fans events out). */
  onNetwork<K extends keyof GatewaySink>(event: K, handler: GatewaySink[K]): void;

  /** Bound sessions of the user (available or not). */
  sessions(): SessionInfo[];
  /**
   * Deliver a stanza to the user: `to` = full JID to that session; `to` = bare JID as RFC 6121
   * §8.5.2 says: presence to every available session, a chat or normal message to the available
   * session(s) of highest non-negative priority (see router.ts `recipients`).
   * Returns how many sessions got it (0: nobody could take it; the caller may store it).
   * A delivered message fires 'message-delivered'.
   */
  deliver(stanza: Element): number;
  /** Hands one session a stanza that waited for the user (the offline box); a message fires 'stored-delivered'. */
  deliverStored(session: SessionInfo, stanza: Element): void;
  /** Stanzas waiting for the user's next login (persistent in the gateway, in memory in tests). */
  readonly offline: OfflineBox;
  /** The account's message history (XEP-0313), when the gateway keeps one. */
  readonly archive?: MessageArchive;
  /**
   * Transport mode only: hands a stanza to the user's server whether or not the user is online
   * (subscription requests and roster changes the server keeps for the user). False when not sent.
   */
  readonly toServer?: (stanza: Element) => boolean;

  /** Disco#info features declared by all features, for the disco feature to assemble. */
  discoFeatures(kind: DiscoKind): string[];
  /** (Additive) Local mode: the gateway's other local accounts (absent in transport mode). */
  readonly local?: LocalDirectory;
  /** (Additive) Identities declared by all features for the server or the account. */
  discoIdentities(kind: 'server' | 'account'): DeclaredIdentity[];

  /** (Additive) What the user keeps on the server: PEP nodes and items, private XML, their vCard. */
  readonly userData: UserData;
  /**
   * (Additive) Sends an iq get/set to one of the user's clients and resolves with its reply (a
   * result or an error stanza); rejects after `timeoutMs` (default 10 s) or when too many wait.
   * The id is ours; `to` is the session's full JID.
   */
  request(session: SessionInfo, iq: Element, timeoutMs?: number): Promise<Element>;
  /** (Additive) The account's files (XEP-0363 slots, URLs of stored files), when the gateway keeps them. */
  readonly files?: AccountFiles;
}

export interface Feature {
  readonly name: string;
  readonly disco?: DiscoDeclaration;
  setup(ctx: FeatureContext): void | Promise<void>;
}
