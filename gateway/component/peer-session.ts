// A user's peer side in the transport mode, switched on and off by their presence (config
// component.peer_session): a PeerNetwork whose links run only while a session is on. Contacts,
// the queue and the archive live in the store, so a stopped session still answers and queues.
import type {
  AddContactOptions,
  ChatState,
  Contact,
  GatewaySink,
  Marker,
  PeerId,
  PeerNetwork,
  RoomListChange,
  RoomNetwork,
  SelfInfo,
  SendOutcome,
  SendTextOptions,
} from '../bridge/contract.js';
import type { TlsimNetwork } from '../bridge/tlsim-network.js';

export interface PeerSessionHooks {
  /** The links and the listener are up. */
  started?(network: TlsimNetwork): Promise<void>;
  /** The links are about to close. */
  stopping?(network: TlsimNetwork): Promise<void>;
  /** The user's own listening port was taken: they listen elsewhere for now (their share string changes). */
  portTaken?(err: Error): void;
}

/** How a fresh network is made; `anyPort`: not the user's own port (another program holds it). */
export type MakeNetwork = (o?: { anyPort?: boolean }) => TlsimNetwork;

export class SwitchablePeerSession implements PeerNetwork {
  private sink: GatewaySink | undefined;
  private current: TlsimNetwork;
  /**
   * The user's rooms, always those of the network of the moment: entries, hosted rooms and archives are in the
   * store; a room link and a hosted room's listener live as long as the network they were made on.
   */
  readonly rooms: RoomNetwork;
  private running = false;
  /** Told of room changes whichever network made them (each fresh network relays to them). */
  private readonly roomWatchers = new Set<(change: RoomListChange) => void>();
  /** Start and stop in the order they were asked for. */
  private chain: Promise<void> = Promise.resolve();

  /**
   * `make` builds a fresh network (a peer manager cannot start twice). `hooks` follow the links:
   * e.g. a user's onion service is published once their listener is up and withdrawn before it closes.
   */
  constructor(
    private readonly make: MakeNetwork,
    private readonly hooks: PeerSessionHooks = {},
  ) {
    this.current = this.fresh();
    const now = () => this.current.rooms;
    this.rooms = {
      list: () => now().list(),
      get: (name) => now().get(name),
      add: (share, name) => now().add(share, name),
      remove: (name) => now().remove(name),
      join: (name, nick, handlers, opts) => now().join(name, nick, handlers, opts),
      watch: (listener) => {
        this.roomWatchers.add(listener);
        return () => void this.roomWatchers.delete(listener);
      },
      get hosting() {
        return now().hosting;
      },
      get archive() {
        return now().archive;
      },
    };
  }

  private fresh(o?: { anyPort?: boolean }): TlsimNetwork {
    const network = this.make(o);
    network.rooms.watch((change) => {
      for (const w of this.roomWatchers) w(change);
    });
    return network;
  }

  get on(): boolean {
    return this.running;
  }

  /** The network of the running session (or the idle one), for status and tests. */
  get network(): TlsimNetwork {
    return this.current;
  }

  /** Remembers where events go; links start with goOnline(). */
  async start(sink: GatewaySink): Promise<void> {
    this.sink = sink;
  }

  goOnline(): Promise<void> {
    return this.queue(async () => {
      if (this.running || !this.sink) return;
      try {
        await this.current.start(this.sink);
      } catch (err) {
        // A network that failed to start cannot start again: the next try gets a fresh one. When the
        // user's own port is taken by another program, that one listens on any free port meanwhile.
        const portTaken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        const failed = this.current;
        this.current = this.fresh({ anyPort: portTaken });
        await failed.stop().catch(() => undefined);
        if (!portTaken) throw err;
        this.hooks.portTaken?.(err as Error);
        await this.current.start(this.sink);
      }
      this.running = true;
      await this.hooks.started?.(this.current);
    });
  }

  /** Closes the links (contacts go offline) and keeps everything stored. */
  goOffline(): Promise<void> {
    return this.queue(async () => {
      if (!this.running) return;
      this.running = false;
      const old = this.current;
      this.current = this.fresh();
      await this.hooks.stopping?.(old);
      await old.stop();
    });
  }

  async stop(): Promise<void> {
    await this.goOffline();
    this.sink = undefined;
  }

  private queue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  selfInfo(): SelfInfo {
    return this.current.selfInfo();
  }
  listContacts(): Contact[] {
    return this.current.listContacts();
  }
  getContact(id: PeerId): Contact | undefined {
    return this.current.getContact(id);
  }
  sendText(id: PeerId, text: string, opts?: SendTextOptions): Promise<SendOutcome> {
    return this.current.sendText(id, text, opts);
  }
  sendChatState(id: PeerId, state: ChatState): void {
    this.current.sendChatState(id, state);
  }
  sendMarker(id: PeerId, marker: Marker, msgId: string): void {
    this.current.sendMarker(id, marker, msgId);
  }
  addContact(id: PeerId, opts?: AddContactOptions): Promise<Contact> {
    return this.withEvents((n) => n.addContact(id, opts));
  }
  renameContact(id: PeerId, name: string): Promise<Contact> {
    return this.withEvents((n) => n.renameContact(id, name));
  }
  removeContact(id: PeerId): Promise<void> {
    return this.withEvents((n) => n.removeContact(id));
  }
  answerRequest(id: PeerId, accept: boolean): Promise<void> {
    return this.withEvents((n) => n.answerRequest(id, accept));
  }
  block(id: PeerId): Promise<void> {
    return this.withEvents((n) => n.block(id));
  }
  unblock(id: PeerId): Promise<void> {
    return this.withEvents((n) => n.unblock(id));
  }
  listBlocked(): PeerId[] {
    return this.current.listBlocked();
  }

  /**
   * A change made while the links are off (an admin's CLI command, a command from a
   * resource not yet seen available) must still reach the user's roster: the idle
   * network is given the sink for the length of the call.
   */
  private async withEvents<T>(op: (n: TlsimNetwork) => Promise<T>): Promise<T> {
    if (this.running || !this.sink) return op(this.current);
    const idle = this.current;
    idle.attachSink(this.sink);
    try {
      return await op(idle);
    } finally {
      if (this.current === idle && !this.running) idle.attachSink(undefined);
    }
  }
}
