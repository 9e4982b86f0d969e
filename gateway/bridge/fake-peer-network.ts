// An in-memory peer network for tests and demos: contacts that come online, go
// offline, echo, and speak on their own, driven by the test through methods.
import { randomBytes } from 'node:crypto';
import type {
  AddContactOptions,
  ChatState,
  Contact,
  Marker,
  ContactState,
  GatewaySink,
  MessageRequests,
  PeerId,
  PeerNetwork,
  SendOutcome,
  SendTextOptions,
} from './contract.js';
import type { History } from './history.js';
import { heldUntilCommitted } from './inbound.js';

export interface FakeContactInit {
  id?: PeerId;
  name: string;
  online?: boolean;
  state?: ContactState;
  address?: string;
  /** Answer every message with the same text. */
  echo?: boolean;
  /** The peer is a tlsim-gateway (Contact.gateway): its user's client can send receipts, markers, states. */
  gateway?: boolean;
}

interface FakeContact {
  id: PeerId;
  name: string;
  online: boolean;
  state: ContactState;
  address?: string;
  echo: boolean;
  gateway: boolean;
  queue: string[];
}

export class UnknownPeerError extends Error {
  constructor(readonly id: PeerId) {
    super(`no such contact: ${id}`);
    this.name = 'UnknownPeerError';
  }
}

export function randomPeerId(): PeerId {
  return randomBytes(32).toString('hex');
}

export class FakePeerNetwork implements PeerNetwork {
  private sink: GatewaySink | undefined;
  private readonly contacts = new Map<PeerId, FakeContact>();
  /** What the user sent and the fake network "wrote to a link", in order. */
  readonly sent: Array<{ id: PeerId; text: string }> = [];
  readonly chatStates: Array<{ id: PeerId; state: ChatState }> = [];
  /** Markers the user's client sent for peers' messages, in order. */
  readonly markers: Array<{ id: PeerId; marker: Marker; msgId: string }> = [];
  /** Where messages both ways are archived, as the real network does (see useHistory). */
  private history: History | undefined;
  /** The options of every sendText call (delivered or queued), in order. */
  readonly sendOptions: Array<{ id: PeerId; text: string; opts: SendTextOptions }> = [];

  constructor(init: FakeContactInit[] = []) {
    for (const c of init) this.addFakeContact(c);
  }

  // ---- test controls -------------------------------------------------------

  /** Archive every message in and out here (the XEP-0313 archive), giving each its stanza id. */
  useHistory(history: History): void {
    this.history = history;
  }

  addFakeContact(init: FakeContactInit): Contact {
    const c: FakeContact = {
      id: init.id ?? randomPeerId(),
      name: init.name,
      online: init.online ?? false,
      state: init.state ?? 'contact',
      address: init.address,
      echo: init.echo ?? false,
      gateway: init.gateway ?? false,
      queue: [],
    };
    this.contacts.set(c.id, c);
    this.sink?.onContactChanged(view(c));
    return view(c);
  }

  setOnline(id: PeerId, online: boolean, reason?: string): void {
    const c = this.must(id);
    if (c.online === online) return;
    c.online = online;
    if (online) {
      this.sink?.onPeerOnline(id);
      for (const text of c.queue.splice(0)) this.deliverToPeer(c, text);
    } else {
      this.sink?.onPeerOffline(id, reason);
    }
  }

  /** Runs `commit` as the real network runs its receive commit (GatewaySink.batch): a throw is a rolled-back one. */
  inCommit<T>(commit: () => T): T {
    return heldUntilCommitted(this.sink, commit);
  }

  /**
   * The peer sends a message to the user; a gateway peer's carries its gateway's `id` and what its
   * user's client asks (`requests`).
   */
  peerSays(id: PeerId, text: string, opts: { stamp?: Date; truncated?: boolean; id?: string; requests?: MessageRequests } = {}): void {
    const c = this.must(id);
    const stanzaId = this.history?.record({ fingerprint: id, direction: 'in', text, truncated: opts.truncated }, c.state === 'contact');
    this.sink?.onText(id, { text, ...opts, ...(stanzaId !== undefined && { stanzaId }) });
  }

  /**
   * The peer's gateway reports what its user's client said about the user's message `xmppId` (the id
   * the user's client gave it). A real network does this for gateway peers only; the fake does it for
   * any, so tests can check the XMPP side believes only gateway contacts.
   */
  peerMarks(id: PeerId, marker: Marker, xmppId: string): void {
    this.must(id);
    this.sink?.onMarker(id, marker, { xmppId });
  }

  /** The peer becomes (or stops being) a tlsim-gateway, as learnt at a new link. */
  setGateway(id: PeerId, gateway: boolean): void {
    const c = this.must(id);
    c.gateway = gateway;
    this.sink?.onContactChanged(view(c));
  }

  peerTypes(id: PeerId, state: ChatState): void {
    this.sink?.onChatState(id, state);
  }

  /** An unknown peer connects and asks to talk (policy "ask"). */
  requestFrom(id: PeerId, name?: string): void {
    const c: FakeContact = { id, name: name ?? id.slice(0, 12), online: true, state: 'requested', echo: false, gateway: false, queue: [] };
    this.contacts.set(id, c);
    this.sink?.onContactRequest(id, { name });
  }

  notice(text: string): void {
    this.sink?.onNotice(text);
  }

  // ---- PeerNetwork ---------------------------------------------------------

  async start(sink: GatewaySink): Promise<void> {
    this.sink = sink;
  }

  async stop(): Promise<void> {
    this.sink = undefined;
  }

  listContacts(): Contact[] {
    return [...this.contacts.values()].map(view);
  }

  getContact(id: PeerId): Contact | undefined {
    const c = this.contacts.get(id);
    return c && view(c);
  }

  async sendText(id: PeerId, text: string, opts: SendTextOptions = {}): Promise<SendOutcome> {
    const c = this.must(id);
    if (c.state === 'blocked') throw new UnknownPeerError(id);
    const stanzaId = this.history?.record({ fingerprint: id, direction: 'out', text, xmppId: opts.xmppId, originId: opts.originId }, true);
    const archived = stanzaId !== undefined ? { stanzaId } : {};
    this.sendOptions.push({ id, text, opts });
    if (!c.online) {
      c.queue.push(text);
      return { status: 'queued', ...archived, reason: `${c.name} is offline; the message goes out when the peer is back` };
    }
    this.deliverToPeer(c, text);
    return { status: 'sent', ...archived };
  }

  sendChatState(id: PeerId, state: ChatState): void {
    this.chatStates.push({ id, state });
  }

  sendMarker(id: PeerId, marker: Marker, msgId: string): void {
    this.markers.push({ id, marker, msgId });
  }

  async addContact(id: PeerId, opts: AddContactOptions = {}): Promise<Contact> {
    const existing = this.contacts.get(id);
    if (existing) {
      existing.state = 'contact';
      if (opts.name) existing.name = opts.name;
      if (opts.address) existing.address = opts.address;
      this.sink?.onContactChanged(view(existing));
      return view(existing);
    }
    return this.addFakeContact({ id, name: opts.name ?? id.slice(0, 12), address: opts.address });
  }

  async renameContact(id: PeerId, name: string): Promise<Contact> {
    const c = this.must(id);
    c.name = name;
    this.sink?.onContactChanged(view(c));
    return view(c);
  }

  async removeContact(id: PeerId): Promise<void> {
    this.must(id);
    this.contacts.delete(id);
    this.sink?.onContactRemoved(id);
  }

  async answerRequest(id: PeerId, accept: boolean): Promise<void> {
    const c = this.must(id);
    if (accept) {
      c.state = 'contact';
      this.sink?.onContactChanged(view(c));
    } else {
      this.contacts.delete(id);
      this.sink?.onContactRemoved(id);
    }
  }

  async block(id: PeerId): Promise<void> {
    const c = this.contacts.get(id) ?? { id, name: id.slice(0, 12), online: false, state: 'blocked' as const, echo: false, gateway: false, queue: [] };
    c.state = 'blocked';
    if (c.online) {
      c.online = false;
      this.sink?.onPeerOffline(id, 'blocked');
    }
    this.contacts.set(id, c);
    this.sink?.onContactChanged(view(c));
  }

  async unblock(id: PeerId): Promise<void> {
    const c = this.contacts.get(id);
    if (!c || c.state !== 'blocked') return;
    c.state = 'contact';
    this.sink?.onContactChanged(view(c));
  }

  listBlocked(): PeerId[] {
    return [...this.contacts.values()].filter((c) => c.state === 'blocked').map((c) => c.id);
  }

  // ---- internals -----------------------------------------------------------

  private deliverToPeer(c: FakeContact, text: string): void {
    this.sent.push({ id: c.id, text });
    if (c.echo) setImmediate(() => this.contacts.has(c.id) && this.peerSays(c.id, text));
  }

  private must(id: PeerId): FakeContact {
    const c = this.contacts.get(id);
    if (!c) throw new UnknownPeerError(id);
    return c;
  }
}

function view(c: FakeContact): Contact {
  return { id: c.id, name: c.name, state: c.state, online: c.online, address: c.address, ...(c.gateway && { gateway: true }) };
}
