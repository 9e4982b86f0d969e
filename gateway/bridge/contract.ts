// The two-way contract between the XMPP side and the peer network (slidge-style):
// PeerNetwork carries user actions to peers, GatewaySink carries network events to XMPP.
// One PeerNetwork per account; ids are peer fingerprints (64 lowercase hex characters).

export type PeerId = string;

/** How a contact relates to the user. `requested`: an unknown peer asked to talk (policy "ask"). */
export type ContactState = 'contact' | 'requested' | 'blocked';

export interface Contact {
  readonly id: PeerId;
  /** Human name shown as the roster name; never empty (falls back to a short fingerprint). */
  readonly name: string;
  readonly state: ContactState;
  /** True exactly while a link with the peer is up. */
  readonly online: boolean;
  /** Where we dial the peer ("host:port" or "x.onion:port"), if known. */
  readonly address?: string;
  /**
   * The peer is a tlsim-gateway that speaks the extension (x-tlsim-gateway/3, learned at the last link):
   * receipts, chat markers and chat states reach its user's client. A reference peer (tlsd, std2fifo)
   * never is: it cannot say it received anything, so nothing may be promised for it.
   */
  readonly gateway?: boolean;
}

export type ChatState = 'active' | 'composing' | 'paused' | 'inactive' | 'gone';

/**
 * What the other user's client said about a message (between two gateways only, never faked):
 * `receipt` is XEP-0184 <received/>; the others are XEP-0333 chat markers.
 */
export type Marker = 'receipt' | 'received' | 'displayed' | 'acknowledged';

/** What the sender asked of the receiving client (XEP-0184 <request/>, XEP-0333 <markable/>). */
export interface MessageRequests {
  readonly receipt?: boolean;
  readonly markable?: boolean;
}

export interface SendTextOptions extends MessageRequests {
  /** The id the user's client gave the message: receipts and markers for it come back naming it. */
  readonly xmppId?: string;
  /** The client's XEP-0359 origin-id, kept in the archive so clients recognise their own message in MAM. */
  readonly originId?: string;
}

/** What became of a message handed to the network. */
export type SendOutcome =
  /**
   * Queued on disk and handed to the peer's live link, in order; it leaves the queue once the
   * write to the TLS socket completed (if the link dies first, it goes out on the next one).
   */
  | { status: 'sent'; stanzaId?: string; kept?: Promise<void> }
  /** Kept in the outgoing queue; goes out, in order, when a link is up. */
  | { status: 'queued'; reason: string; stanzaId?: string; kept?: Promise<void> };
// `kept` (group commit): settles once the message is on disk (the loop turn's commit); rejects with the StanzaError
// to answer (a full disk) when that commit failed, and then the message is not kept and never goes out. Absent: it
// was on disk when sendText resolved. Nobody has to listen: its rejection is handled where it is made.

export interface AddContactOptions {
  name?: string;
  /** "host:port"; required for peers we have never seen. */
  address?: string;
}

/** Who we are on the peer network, for `share` and `status`. */
export interface SelfInfo {
  /** Our fingerprint (64 lowercase hex). */
  fingerprint: string;
  /** `tlsim://<fingerprint>@<host>:<port>`, when we listen somewhere a peer can reach. */
  share?: string;
  /** Where our peer listener is bound ("host:port"). */
  listening: string[];
  /** How peers reach us and we them: "direct" until Tor exists. */
  transport: string;
  /** Peers with a link up now. */
  online: number;
  /** Messages waiting in the outgoing queue. */
  queued: number;
}

export interface PeerNetwork {
  /** Who we are (fingerprint, share string, listener). Optional for test networks. */
  selfInfo?(): SelfInfo;
  /** Starts delivering events to `sink`. Called once, before anything else. */
  start(sink: GatewaySink): Promise<void>;
  stop(): Promise<void>;

  listContacts(): Contact[];
  getContact(id: PeerId): Contact | undefined;

  /** Send a chat message. Throws a StanzaError-mappable error for unknown or blocked peers. */
  /** Send a chat message. `stanzaId` in the outcome: the archive's id for it (XEP-0359), when archived. */
  sendText(id: PeerId, text: string, opts?: SendTextOptions): Promise<SendOutcome>;
  /** Typing notifications; only a gateway peer gets them (a state never becomes a line of text). */
  sendChatState(id: PeerId, state: ChatState): void;
  /**
   * The user's client got (or displayed) the peer's message `msgId` (IncomingText.id). Only a gateway peer is
   * told; for any other peer this does nothing.
   */
  sendMarker(id: PeerId, marker: Marker, msgId: string): void;

  addContact(id: PeerId, opts?: AddContactOptions): Promise<Contact>;
  renameContact(id: PeerId, name: string): Promise<Contact>;
  removeContact(id: PeerId): Promise<void>;
  /** Accept or deny a pending request from an unknown peer. */
  answerRequest(id: PeerId, accept: boolean): Promise<void>;
  block(id: PeerId): Promise<void>;
  unblock(id: PeerId): Promise<void>;
  listBlocked(): PeerId[];
  /** (Additive) Reference chat rooms; absent where the network has none (test networks, component mode). */
  readonly rooms?: RoomNetwork;
  /**
   * (Additive) Group commit: `cb` once what the network stored for the calls made so far (sendText's queue entry
   * and archive entry) is committed, with the error when that commit failed and they are gone. An XEP-0198 <a/>
   * waits for it. Absent: everything is durable when its call returned.
   */
  whenCommitted?(cb: (err?: Error) => void): void;
  /** (Additive) Commits what whenCommitted would wait for, now; throws when that fails. */
  commitNow?(): void;
  /** (Additive) The FOAF directory (own profile, published contacts, search); absent where there is none. */
  readonly directory?: DirectoryNetwork;
  /**
   * (Additive) Sends a stored file of the user (its upload token) to a gateway peer over the link, kept until the
   * peer's gateway has it all; 'queued' when the peer is offline now. `text` (the file's URL) goes to the history;
   * `stanzaId` is its archive id. Absent where files cannot travel.
   */
  sendFile?(id: PeerId, token: string, opts?: { text?: string; xmppId?: string }): { status: 'sending' | 'queued'; stanzaId?: string };
}

export interface IncomingText {
  text: string;
  /** When the peer sent it, for messages delivered late (held requests, offline user). */
  stamp?: Date;
  /** The peer's message was longer than the link limit and was cut. */
  truncated?: boolean;
  /**
   * The sending gateway's id for this message (gateway peers only): the XMPP id to deliver it with, and what
   * sendMarker() names. Absent for a reference peer.
   */
  id?: string;
  /** What the sender asked of our user's client (gateway peers only). */
  requests?: MessageRequests;
  /** The archive's id of this message (XEP-0359 stanza-id), when it was archived. */
  stanzaId?: string;
}

export interface GatewaySink {
  onText(id: PeerId, message: IncomingText): void;
  onChatState(id: PeerId, state: ChatState): void;
  /** The peer's user's client got (or displayed) our message; `xmppId`: the id our user's client gave it. */
  onMarker(id: PeerId, marker: Marker, ref: { xmppId: string }): void;
  onPeerOnline(id: PeerId): void;
  onPeerOffline(id: PeerId, reason?: string): void;
  /** An unknown peer wants to talk (policy "ask"): shown as a subscription request. */
  onContactRequest(id: PeerId, info: { name?: string }): void;
  /** A contact was added, renamed, accepted, blocked, ...: the roster changes. */
  onContactChanged(contact: Contact): void;
  onContactRemoved(id: PeerId): void;
  /** Something the user must read (e.g. a fingerprint mismatch), from the gateway contact. */
  onNotice(text: string): void;
  /**
   * Runs `commit` (the network's transaction, with its onText calls inside) while what the user's clients are sent
   * waits; it goes out once `commit` returned, and is dropped when it threw (the commit rolled back). So a client
   * never reads a message that a crash before the commit undoes: the peer sends it again, and it is shown once.
   */
  batch?<T>(commit: () => T): T;
}

// ---- reference chat rooms (docs/rooms.md) ------------------------------------------------

/** A reference chat room the user added: a MUC room `<name>@<conference domain>`. */
export interface Room {
  readonly name: string;
  readonly fingerprint: string;
  /** "host:port". */
  readonly address: string;
}

/**
 * What the room said, one line each; `stamp` only when the room's HH:MM is more than a minute from now. A room a
 * gateway hosts (with the extension) gives each message its stable `id`, stamps history with its original time,
 * and sends our own message back with `echo`: the id the client gave it.
 */
export type RoomEvent =
  | { kind: 'message'; name: string; alias: string; text: string; stamp?: Date; id?: string; echo?: string }
  | { kind: 'joins' | 'quits'; name: string; alias: string; stamp?: Date }
  /** A line that is not a member's (a room that is not tlsd-chat.sh): shown as the room's. */
  | { kind: 'notice'; text: string }
  /** With the extension: the history sent on joining is over (the MUC subject goes here). */
  | { kind: 'history-end' }
  /** (Additive) With the extension: a member marked the room's message `id` (XEP-0333), live. */
  | { kind: 'marker'; name: string; alias: string; id: string; marker: RoomMarkerKind };

/** The chat markers a room with the extension carries. */
export type RoomMarkerKind = Exclude<Marker, 'receipt'>;

export interface RoomHandlers {
  /**
   * In the room: `name` is our NAME there (`alias[pid]`), new on every link. `present`: who is there (a room
   * with the extension tells it; a reference room does not).
   */
  joined(self: { name: string; alias: string; asked: boolean; present?: readonly { name: string; alias: string }[] }): void;
  event(e: RoomEvent): void;
  /** The link failed or dropped; `retryInMs` absent: no more tries (refused, or the room was removed). */
  down(info: { reason: string; retryInMs?: number; wasJoined: boolean }): void;
}

export interface RoomSession {
  /**
   * Writes the text to the room, one line per line, and resolves with what the other members read of it
   * (the room deletes control characters). Rejects with a StanzaError when not joined or too long. `id`: the
   * client's id for it; a room with the extension echoes it back (a `message` event with `echo`).
   */
  send(text: string, id?: string): Promise<string>;
  /** The room echoes what we send (the extension): the sender's clients get their reflection from the echo. */
  readonly echoes: boolean;
  /**
   * (Additive) With the extension: our client marked the room's message `id` (its stanza-id). Rejects when the
   * room has no extension or is not joined, or the id is none of the room's.
   */
  mark?(id: string, marker: RoomMarkerKind): Promise<void>;
  leave(): Promise<void>;
}

/** One message of a room's archive (XEP-0313 on the room JID): the room's stable id, the occupant's nick. */
export interface RoomArchiveEntry {
  readonly id: string;
  readonly nick: string;
  readonly text: string;
  readonly stamp: Date;
}

export interface RoomArchiveQuery {
  readonly start?: Date;
  readonly end?: Date;
  /** Exclusive bounds by id; an unknown id is a StanzaError item-not-found. */
  readonly afterId?: string;
  readonly beforeId?: string;
  readonly ids?: readonly string[];
  /** From the newest end backwards (RSM <before/>). */
  readonly reverse?: boolean;
  readonly limit: number;
}

/** The messages of rooms with the extension, kept as they arrive (the archive of the MUC JID). */
export interface RoomArchiveApi {
  /** The room has an archive (it has the extension and messages came): MAM is in its disco. */
  holds(room: string): boolean;
  query(room: string, q: RoomArchiveQuery): { entries: RoomArchiveEntry[]; more: boolean; total: number };
  /**
   * (Additive) MUC history for a client joining (XEP-0045 §7.2.14): the newest `limit` messages said at or after
   * `since`, oldest first.
   */
  history(room: string, q: { limit: number; since?: Date }): RoomArchiveEntry[];
}

export interface RoomNetwork {
  list(): Room[];
  get(name: string): Room | undefined;
  /** From a share string (`tlsim://<fingerprint>@<host>:<port>`); the name defaults to a short fingerprint. */
  add(share: string, name?: string): Room;
  remove(name: string): void;
  /**
   * Opens a link to the room as `nick` (mapped to an alias fp2alias takes) and keeps it until leave(). (Additive)
   * `history`: the messages the joining client asked for (XEP-0045 §7.2.14); where we keep fewer of a room with the
   * extension, its first connection asks the room for that many.
   */
  join(name: string, nick: string, handlers: RoomHandlers, opts?: { history?: number }): RoomSession;
  /**
   * (Additive) Tells `listener` of each room added (`room add`, a room hosted) and removed, as it happens, so online
   * clients' bookmarks follow; returns the way to stop. Absent where rooms never change while running (test networks).
   */
  watch?(listener: (change: RoomListChange) => void): () => void;
  /** (Additive) Rooms this gateway hosts; absent where it hosts none (test networks). */
  readonly hosting?: RoomHostingApi;
  /** (Additive) Archives of rooms with the extension; absent without a store. */
  readonly archive?: RoomArchiveApi;
}

/** A room entry that came or went (RoomNetwork.watch). */
export type RoomListChange = { readonly added: Room } | { readonly removed: string };

/** Who may come into a hosted room: anyone (asked for an alias, as fp2alias -a), or only members. */
export type HostedPolicy = 'open' | 'members';

export interface HostedRoomInfo {
  readonly name: string;
  readonly policy: HostedPolicy;
  readonly fingerprint: string;
  /** What reference members and other gateways join with: `tlsim://<room fingerprint>@<host>:<port>`; absent until the room first listened. */
  readonly share?: string;
  readonly present: readonly { name: string; alias: string; fingerprint: string }[];
  readonly members: readonly { alias: string; fingerprint: string; banned: boolean }[];
}

/** Hosting rooms (docs/rooms.md): a room of the gateway's own that reference members join as tlsd-chat. */
export interface RoomHostingApi {
  list(): HostedRoomInfo[];
  get(name: string): HostedRoomInfo | undefined;
  /** Hosts a new room (and adds it to the account's rooms, so its users join it as a MUC), or sets its policy. */
  host(name: string, policy: HostedPolicy): Promise<HostedRoomInfo>;
  /** Lets a fingerprint in under an alias (members-only rooms); unbans it. */
  allow(name: string, fingerprint: string, alias: string): HostedRoomInfo;
  /** Keeps a member out (by alias or fingerprint) and cuts it if present. */
  ban(name: string, who: string): HostedRoomInfo;
  /**
   * An invitation: a peer not yet a member is let in under an alias made from `nameHint` (a-z 0-9, made unique);
   * one already known keeps its alias, and a ban is lifted. Returns the room with the peer's alias.
   */
  invite(name: string, fingerprint: string, nameHint: string): HostedRoomInfo & { alias: string };
  /** Stops hosting (everyone in it is cut) and forgets its members. */
  unhost(name: string): Promise<void>;
}

// ---- the FOAF directory (issue 13; README "Find people") -----------------------------------

/** A person's profile fields, own or crawled. */
export interface PersonProfile {
  readonly nick?: string;
  readonly name?: string;
  /** SHA-1 (hex) of "mailto:<address>" (foaf:mbox_sha1sum): the address itself is never kept. */
  readonly mboxSha1sum?: string;
  readonly interests: readonly string[];
  readonly place?: string;
  readonly description?: string;
}

/** What `profile set <key> <value>` sets; "interest" takes a comma-separated list, "email" keeps only its SHA-1. */
export const PROFILE_KEYS = ['nick', 'name', 'interest', 'place', 'description', 'email'] as const;
export type ProfileKey = (typeof PROFILE_KEYS)[number];

export interface OwnProfile extends PersonProfile {
  readonly fingerprint: string;
  readonly share?: string;
  /** The contacts listed as foaf:knows (published); none by default. */
  readonly published: readonly PeerId[];
}

/** A search: every given field must match (case-insensitive substring); `text` matches any field. */
export interface DirectoryQuery {
  readonly nick?: string;
  readonly name?: string;
  readonly interest?: string;
  readonly place?: string;
  readonly text?: string;
}

export interface DirectoryResult extends PersonProfile {
  readonly fingerprint: PeerId;
  /** What the client adds (the existing add flow); absent when nobody told us where the peer listens. */
  readonly share?: string;
  /** Hops from the user: 1 for a contact, 2 for a person a contact published, ... */
  readonly distance: number;
  /** The peers whose published profile lists this person (fingerprints), nearest first. */
  readonly vouchers: readonly PeerId[];
  /** 'profile': its own profile was read; 'listed': only what its vouchers say of it. */
  readonly source: 'profile' | 'listed';
}

export interface DirectoryNetwork {
  profile(): OwnProfile;
  /** An empty value clears the field. Throws a StanzaError for a value past a limit. */
  setField(key: ProfileKey, value: string): OwnProfile;
  /** Lists a contact in foaf:knows (true) or not; StanzaError item-not-found for a peer that is not a contact. */
  setPublic(id: PeerId, published: boolean): void;
  /** The public profile as Turtle: exactly what peers and GET /foaf get. */
  turtle(): string;
  /** People known from crawled profiles, ranked by the configured function (directory.rank). */
  search(query: DirectoryQuery, max?: number): DirectoryResult[];
  /** Fetches stale profiles now (within the hourly limit) and says what came of it. */
  crawl(): Promise<{ fetched: number; refused: number; none: number; deferred: number }>;
  /** What we know of a peer's profile: 'none' said so (a reference peer), undefined never asked. */
  status(id: PeerId): { status: 'profile' | 'none' | 'refused' | 'listed'; reason?: string; fetchedAt?: Date } | undefined;
}
