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
}

export type ChatState = 'active' | 'composing' | 'paused' | 'inactive' | 'gone';

/** What became of a message handed to the network. */
export type SendOutcome =
  /**
   * Queued on disk and handed to the peer's live link, in order; it leaves the queue once the
   * write to the TLS socket completed (if the link dies first, it goes out on the next one).
   */
  | { status: 'sent' }
  /** Kept in the outgoing queue; goes out, in order, when a link is up. */
  | { status: 'queued'; reason: string };

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
  sendText(id: PeerId, text: string, opts?: { xmppId?: string }): Promise<SendOutcome>;
  /** Typing notifications; a plain tlsim peer never sees them. */
  sendChatState(id: PeerId, state: ChatState): void;

  addContact(id: PeerId, opts?: AddContactOptions): Promise<Contact>;
  renameContact(id: PeerId, name: string): Promise<Contact>;
  removeContact(id: PeerId): Promise<void>;
  /** Accept or deny a pending request from an unknown peer. */
  answerRequest(id: PeerId, accept: boolean): Promise<void>;
  block(id: PeerId): Promise<void>;
  unblock(id: PeerId): Promise<void>;
  listBlocked(): PeerId[];
}

export interface IncomingText {
  text: string;
  /** When the peer sent it, for messages delivered late (held requests, offline user). */
  stamp?: Date;
  /** The peer's message was longer than the link limit and was cut. */
  truncated?: boolean;
}

export interface GatewaySink {
  onText(id: PeerId, message: IncomingText): void;
  onChatState(id: PeerId, state: ChatState): void;
  onPeerOnline(id: PeerId): void;
  onPeerOffline(id: PeerId, reason?: string): void;
  /** An unknown peer wants to talk (policy "ask"): shown as a subscription request. */
  onContactRequest(id: PeerId, info: { name?: string }): void;
  /** A contact was added, renamed, accepted, blocked, ...: the roster changes. */
  onContactChanged(contact: Contact): void;
  onContactRemoved(id: PeerId): void;
  /** Something the user must read (e.g. a fingerprint mismatch), from the gateway contact. */
  onNotice(text: string): void;
}
