// The PeerNetwork over real tlsim links: contacts and requests in the store, a persistent
// outgoing queue flushed in order when a link is up, every message archived, unknown peers
// handled by policy (ask / accept / reject), blocked peers cut at the TLS layer. With another gateway
// (x-tlsim-gateway/3): message ids, receipts and chat markers (marker-relay.ts), chat states.
import type { Logger } from 'pino';
import type { OutboxItem, Store } from '../store/index.js';
import { timeOrderedId } from '../store/common.js';
import { StanzaError } from '../xmpp/errors.js';
import type {
  AddContactOptions,
  ChatState,
  Contact,
  GatewaySink,
  Marker,
  PeerId,
  PeerNetwork,
  SelfInfo,
  SendOutcome,
  SendTextOptions,
} from './contract.js';
import {
  FingerprintMismatchError,
  PeerManager,
  createTlsContext,
  directDialer,
  type Dialer,
  type Identity,
  type LinkProtocol,
  type OutgoingMessage,
  type PeerAddress,
  type PeerManagerOptions,
} from './peer-protocol.js';
import { formatAddress, formatShareString } from './share-string.js';
import { LinkNotices } from './link-notices.js';
import { displayName, short } from './names.js';
import { OutboxFlusher } from './outbox-flusher.js';
import { History, outgoingLinkId } from './history.js';
import { Inbound } from './inbound.js';
import { storeFailure } from './store-failures.js';
import { MarkerRelay } from './marker-relay.js';
import { TlsimRooms } from './room-network.js';
import { ContactBook, addressOf, checkId, type UnknownPeerPolicy } from './contact-book.js';
import type { Directory } from '../directory/directory.js';
import { FoafNetwork, type FoafSettings } from './foaf-network.js';
import { FileTransfers } from './file-transfers.js';
import type { UploadStore } from '../files/upload-store.js';
import type { RoomHostingOptions } from './room-hosting.js';

export type { UnknownPeerPolicy } from './contact-book.js';

export interface TlsimNetworkOptions {
  store: Store;
  accountId: number;
  identity: Identity;
  log: Logger;
  /** Where the peer listener binds (port 0 = a free one). */
  listen: { host: string; port: number };
  /** Host written into our share string; default the listen host. */
  advertiseHost?: string;
  /** Host and port of our share string when peers reach us elsewhere (our onion and its virtual port); wins over advertiseHost. */
  advertise?: { host: string; port: number };
  /** How peers reach us, for selfInfo(): "tor" when we have an onion service, else "direct" (the default). */
  transport?: 'direct' | 'tor';
  unknownPolicy: UnknownPeerPolicy;
  maxMessageBytes?: number;
  /** How to reach an address; default direct TCP. */
  dialerFor?: (address: PeerAddress) => Dialer;
  /** Passed through to the peer manager (tests shorten timers). */
  peerOptions?: Partial<Pick<PeerManagerOptions, 'backoff' | 'handshakeTimeoutMs' | 'dialTimeoutMs' | 'gatewayAlpns'>>;
  /** Hosted rooms' limits (tests set small ones). */
  roomLimits?: RoomHostingOptions['limits'];
  /** The id a queued message goes out with to a gateway peer (default a time-ordered UUID, store/common.ts). */
  newLinkId?: () => string;
  /** The FOAF directory (issue 13): ranking, crawl settings, where GET /foaf serves our profile. */
  directory?: FoafSettings;
  /** (Additive) Where files to and from gateway peers are kept; none: files do not travel. */
  uploads?: UploadStore;
}


export class TlsimNetwork implements PeerNetwork {
  private sink: GatewaySink | undefined;
  private readonly peers: PeerManager;
  private readonly outbox: OutboxFlusher;
  private readonly notices: LinkNotices;
  private readonly inbound: Inbound;
  private readonly history: History;
  private readonly markers: MarkerRelay;
  private readonly acct: number;
  private readonly book: ContactBook;
  /** Reference chat rooms (docs/rooms.md): their links are not peer links (no contact, no queue). */
  readonly rooms: TlsimRooms;
  /** The FOAF directory: own profile, published contacts, search over crawled profiles. */
  readonly directory: Directory;
  private readonly foaf: FoafNetwork;
  private readonly files: FileTransfers | undefined;

  constructor(private readonly opts: TlsimNetworkOptions) {
    this.acct = opts.accountId;
    this.history = new History(opts.store, opts.accountId);
    this.inbound = new Inbound({ store: opts.store, accountId: opts.accountId, history: this.history, log: opts.log, sink: () => this.sink });
    const direct = directDialer();
    this.rooms = new TlsimRooms({
      store: opts.store,
      accountId: opts.accountId,
      identity: opts.identity,
      log: opts.log.child({ component: 'rooms' }),
      dialerFor: opts.dialerFor ?? (() => direct),
      maxMessageBytes: opts.maxMessageBytes,
      // Behind an onion, a hosted room's port is one more port of our onion: its share string names the onion.
      hosting: { listenHost: opts.listen.host, advertiseHost: (opts.transport === 'tor' && opts.advertise?.host) || opts.advertiseHost || opts.listen.host, ...opts.roomLimits && { limits: opts.roomLimits } },
    });
    this.peers = new PeerManager({
      tls: createTlsContext(opts.identity),
      log: opts.log.child({ component: 'peers' }),
      dialerFor: opts.dialerFor ?? (() => direct),
      listen: [opts.listen],
      maxMessageBytes: opts.maxMessageBytes,
      authorize: (fp) => this.book.authorize(fp),
      // A gateway peer forgets a message once we acknowledge it: what we read is committed first.
      beforeAck: (fp) => this.inbound.commit(fp),
      ...opts.peerOptions,
    });
    const foaf = { peers: this.peers, self: () => this.selfInfo(), mayAsk: (fp: string) => this.book.authorize(fp) === 'accept' };
    this.foaf = new FoafNetwork({ ...opts, ...foaf, dialerFor: opts.dialerFor ?? (() => direct), settings: opts.directory });
    this.directory = this.foaf.directory;
    this.outbox = new OutboxFlusher({
      store: opts.store,
      accountId: opts.accountId,
      send: (fp, item) => this.peers.sendMessage(fp, outgoing(item)),
      isOnline: (fp) => this.peers.isOnline(fp),
      log: opts.log,
    });
    this.book = new ContactBook({ ...opts, peers: this.peers, outbox: this.outbox, directory: this.directory, sink: () => this.sink });
    this.notices = new LinkNotices({ store: opts.store, accountId: opts.accountId, log: opts.log, notify: (text) => this.sink?.onNotice(text) });
    this.markers = new MarkerRelay({ store: opts.store, accountId: opts.accountId, peers: this.peers, sink: () => this.sink, log: opts.log });
    this.peers.on('link-up', ({ fingerprint, protocol }) => this.onLinkUp(fingerprint, protocol));
    this.peers.on('link-down', ({ fingerprint, reason }) => this.onLinkDown(fingerprint, reason));
    this.peers.on('message', (fp, m) => this.inbound.text(fp, m));
    this.peers.on('marker', (fp, marker, id) => {
      if (this.book.isContact(fp)) this.markers.received(fp, marker, id);
    });
    this.peers.on('chat-state', (fp, state) => {
      if (this.book.isContact(fp)) this.inbound.chatState(fp, state);
    });
    this.peers.on('dial-failed', ({ fingerprint, address, error, retryInMs }) => {
      if (error instanceof FingerprintMismatchError) this.notices.mismatch(fingerprint, address, error);
      else {
        opts.log.debug({ peer: short(fingerprint), err: error.message, retryInMs }, 'dial failed');
        this.notices.dialFailed(fingerprint, address, error, retryInMs);
      }
    });
    this.peers.on('link-up', ({ fingerprint }) => this.notices.linkUp(fingerprint));
    this.files = opts.uploads && new FileTransfers({ ...opts, uploads: opts.uploads, peers: this.peers, inbound: this.inbound, sink: () => this.sink });
    this.peers.on('inbound-rejected', ({ fingerprint, reason }) =>
      opts.log.info({ peer: fingerprint && short(fingerprint), reason }, 'inbound link refused'),
    );
  }

  // ---- lifecycle -----------------------------------------------------------------

  async start(sink: GatewaySink): Promise<void> {
    this.sink = sink;
    for (const c of this.book.stored()) {
      if (c.state === 'contact') this.peers.setPeer(c.fingerprint, addressOf(c));
    }
    await this.peers.start();
    await this.rooms.start();
    // Messages queued before a restart (or a crash) go out as soon as their peers are reachable.
    for (const fp of this.opts.store.outbox.fingerprintsWithPending(this.acct)) this.peers.connect(fp);
  }

  async stop(): Promise<void> {
    this.files?.stop();
    await this.rooms.stop();
    this.foaf.stop();
    await this.peers.stop();
    this.inbound.flush();
    this.sink = undefined;
  }

  /**
   * Where events go while the links are not started: a transport-mode user's contacts can
   * change (CLI, commands) while their peer session is off. start() sets it too.
   */
  attachSink(sink: GatewaySink | undefined): void {
    this.sink = sink;
  }

  selfInfo(): SelfInfo {
    const listening = this.peers.addresses();
    const first = listening[0];
    const host = this.opts.advertiseHost ?? this.opts.listen.host;
    const fingerprint = this.opts.identity.fingerprint;
    const adv = this.opts.advertise;
    return {
      fingerprint,
      share: adv ? formatShareString({ fingerprint, ...adv }) : first && formatShareString({ fingerprint, host, port: first.port }),
      listening: listening.map((a) => formatAddress(a)),
      transport: this.opts.transport ?? 'direct',
      online: this.peers.onlinePeers().length,
      queued: this.opts.store.outbox
        .fingerprintsWithPending(this.acct)
        .reduce((n, fp) => n + this.opts.store.outbox.countFor(this.acct, fp), 0),
    };
  }

  /**
   * Dials now, with a fresh backoff, every contact that is offline and whose address matches: when our
   * transport came (back), e.g. tor ready again after a restart, instead of waiting out backoffs grown meanwhile.
   */
  redial(match: (address: PeerAddress) => boolean = () => true): void {
    for (const c of this.book.stored()) {
      const address = addressOf(c);
      if (c.state === 'contact' && address && match(address) && !this.peers.isOnline(c.fingerprint)) this.peers.connect(c.fingerprint);
    }
  }

  /** A line from the gateway contact (Tor trouble, say); kept for the user when no client is connected. */
  notice(text: string): void {
    this.sink?.onNotice(text);
  }

  /** Applies to the next unknown peer that connects (config reload). */
  setUnknownPolicy(policy: UnknownPeerPolicy): void {
    this.book.setUnknownPolicy(policy);
  }

  // ---- contacts --------------------------------------------------------------------

  listContacts(): Contact[] {
    return this.book.list();
  }

  getContact(id: PeerId): Contact | undefined {
    return this.book.get(id);
  }

  addContact(id: PeerId, opts: AddContactOptions = {}): Promise<Contact> {
    return this.book.add(id, opts);
  }

  renameContact(id: PeerId, name: string): Promise<Contact> {
    return this.book.rename(id, name);
  }

  removeContact(id: PeerId): Promise<void> {
    return this.book.remove(id);
  }

  answerRequest(id: PeerId, accept: boolean): Promise<void> {
    return this.book.answer(id, accept);
  }

  block(id: PeerId): Promise<void> {
    return this.book.block(id);
  }

  unblock(id: PeerId): Promise<void> {
    return this.book.unblock(id);
  }

  listBlocked(): PeerId[] {
    return this.book.listBlocked();
  }

  // ---- messages --------------------------------------------------------------------

  /**
   * Queues the message (with its archive entry) in the store's group commit, and once that commit is done
   * (whenCommitted: the end of this loop turn, shared with every other message of the turn) hands it to the
   * peer's flush without waiting for the socket: 'sent' means "handed to the link, in order". The order the
   * user wrote in is the queue's order, not the order of awaits, so the XMPP stream may go on to its next stanza
   * at once; its XEP-0198 <a/> waits for the commit (whenCommitted below). Nothing goes onto a link before it is
   * on disk. The entry leaves the queue only once sent (a gateway peer acknowledged it; a reference peer's write
   * completed); should the link fail first, it stays queued and goes out on the next link.
   */
  async sendText(id: PeerId, text: string, opts: SendTextOptions = {}): Promise<SendOutcome> {
    const fp = checkId(id);
    const c = this.opts.store.contacts.get(this.acct, fp);
    if (!c || c.state === 'requested') throw new StanzaError('item-not-found', 'not a contact: add the peer first');
    if (c.state === 'blocked') throw new StanzaError('not-acceptable', 'this peer is blocked');
    // On disk first: from here on the message survives a crash of the gateway.
    const { store } = this.opts;
    // The id a gateway peer's markers will name, kept with the message in the archive for as long as it lives.
    // A client's XEP-0359 origin-id names the message for good: the same message sent again (a client
    // resending what a failed stream resumption left unacknowledged) keeps the same link id, so neither
    // this gateway nor the receiving one shows it twice.
    const linkId = outgoingLinkId(opts.originId, this.opts.newLinkId ?? timeOrderedId);
    const resent = opts.originId !== undefined ? this.history.sentBefore(fp, linkId) : undefined;
    if (resent !== undefined) {
      this.opts.log.debug({ peer: short(fp) }, 'a message sent again with the same origin-id: kept once');
      if (this.peers.isOnline(fp)) return { status: 'sent', stanzaId: resent };
      return { status: 'queued', stanzaId: resent, reason: `this message is kept already and goes to ${displayName(c)} once, when the link is up.` };
    }
    let stanzaId: string | undefined;
    try {
      stanzaId = store.group.run(() => {
        store.outbox.enqueue(this.acct, fp, text, { xmppId: opts.xmppId, linkId, receipt: opts.receipt, markable: opts.markable });
        return this.history.record({ fingerprint: fp, direction: 'out', text, xmppId: opts.xmppId, originId: opts.originId, linkId }, true);
      }, text.length);
    } catch (err) {
      const failure = storeFailure(err);
      if (failure !== err) this.opts.log.warn({ peer: short(fp), err: (err as Error).message }, 'message not kept');
      throw failure;
    }
    const kept = new Promise<void>((resolve, reject) =>
      store.group.whenCommitted((err) => {
        if (!err) {
          void this.outbox.flush(fp);
          return resolve();
        }
        // The turn's commit failed (a full disk): the message is not kept and never goes out. Its stream's <a/>
        // never counts it (the stream ends); the sender gets the error through `kept`.
        this.opts.log.warn({ peer: short(fp), err: err.message }, 'message not kept');
        reject(storeFailure(err));
      }),
    );
    kept.catch(() => undefined);
    const archived = { kept, ...(stanzaId !== undefined && { stanzaId }) };
    if (this.peers.isOnline(fp)) return { status: 'sent', ...archived };
    this.peers.connect(fp);
    const name = displayName(c);
    return {
      status: 'queued',
      ...archived,
      reason: c.address
        ? `${name} is offline; your messages are kept and go out in order as soon as the link is up (dialing now).`
        : `${name} is offline and I have no address to dial; your messages are kept and go out when the peer connects.`,
    };
  }

  sendFile(id: PeerId, token: string, opts: { text?: string; xmppId?: string } = {}): { status: 'sending' | 'queued'; stanzaId?: string } {
    if (!this.files) throw new StanzaError('feature-not-implemented', 'files do not travel from this gateway (files.enabled)');
    const fp = id.toLowerCase();
    const stanzaId = opts.text === undefined ? undefined : this.history.record({ fingerprint: fp, direction: 'out', text: opts.text, xmppId: opts.xmppId }, true);
    return { status: this.files.send(fp, token), ...(stanzaId !== undefined && { stanzaId }) };
  }

  /** Over a gateway/3 link that is up, now; otherwise dropped (a plain link carries only lines of text). */
  sendChatState(id: PeerId, state: ChatState): void {
    const fp = id.toLowerCase();
    // Behind the messages sent before it, which go to the link once their group is committed: their flush (an
    // earlier waiter) starts its drain in a microtask, and this one comes after it.
    if (this.book.isContact(fp)) this.opts.store.group.whenCommitted(() => void Promise.resolve().then(() => this.peers.sendChatState(fp, state)));
  }

  whenCommitted(cb: (err?: Error) => void): void {
    this.opts.store.group.whenCommitted(cb);
  }

  commitNow(): void {
    this.opts.store.group.commitNow();
  }

  /** To a gateway peer only: now, or kept (in the store, bounded) until its link is back. */
  sendMarker(id: PeerId, marker: Marker, msgId: string): void {
    const c = this.opts.store.contacts.get(this.acct, id.toLowerCase());
    if (c) this.markers.send(c, marker, msgId);
  }

  // ---- peer events -----------------------------------------------------------------

  private onLinkUp(fp: string, protocol: LinkProtocol): void {
    if (!this.book.linkUp(fp, protocol)) return;
    this.sink?.onPeerOnline(fp);
    void this.outbox.flush(fp);
    if (protocol === 'gateway/3') {
      void this.markers.flush(fp);
      this.foaf.linkUp(fp);
    }
  }

  private onLinkDown(fp: string, reason: string): void {
    // What the peer said before the link went down reaches the user before its going offline.
    this.inbound.flush();
    const c = this.opts.store.contacts.get(this.acct, fp);
    if (c?.state === 'contact') this.sink?.onPeerOffline(fp, reason);
  }
}

/** A queued message as a link sends it: with its id and requests to a gateway/3 peer (rows from before have none). */
function outgoing(item: OutboxItem): OutgoingMessage {
  return {
    text: item.text,
    ...(item.linkId !== undefined && { id: item.linkId }),
    ...(item.receipt && { receipt: true }),
    ...(item.markable && { markable: true }),
  };
}
