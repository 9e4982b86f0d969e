// The RoomNetwork over real links: rooms kept in the store, one RoomLink (bridge-protocol) per join, the room's
// lines turned into RoomEvents with delay stamps where its clock differs (docs/rooms.md). A room a gateway hosts
// speaks the room extension instead: its messages come with ids and times, are kept in the room archive (XEP-0313
// on the room JID) and our own come back as echoes.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { ROOM_NAME, ROOM_NAME_RULE } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import { StoreError } from '../store/index.js';
import type { Room, RoomArchiveApi, RoomEvent, RoomHandlers, RoomListChange, RoomNetwork, RoomSession } from './contract.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  RoomLink,
  RoomNotJoinedError,
  aliasForNick,
  roomStamp,
  roomVisible,
  type Dialer,
  type Identity,
  type PeerAddress,
  type RoomLine,
  createTlsContext,
  isLinkId,
} from './peer-protocol.js';
import { RoomHosting, type RoomHostingOptions } from './room-hosting.js';
import { formatAddress, parseAddress, parseShareString } from './share-string.js';

export interface TlsimRoomsOptions {
  store: Store;
  accountId: number;
  identity: Identity;
  log: Logger;
  dialerFor: (address: PeerAddress) => Dialer;
  maxMessageBytes?: number;
  /** Tests shorten these. */
  joinTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  now?: () => Date;
  /** Rooms the account hosts: where they listen and the host their share strings name. */
  hosting?: Omit<RoomHostingOptions, 'store' | 'accountId' | 'log' | 'maxMessageBytes' | 'entered'>;
}

export class TlsimRooms implements RoomNetwork {
  private readonly sessions = new Set<{ link: RoomLink; room: string; handlers: RoomHandlers }>();
  private tls: ReturnType<typeof createTlsContext> | undefined;
  private readonly watchers = new Set<(change: RoomListChange) => void>();
  readonly hosting: RoomHosting | undefined;
  readonly archive: RoomArchiveApi;

  constructor(private readonly opts: TlsimRoomsOptions) {
    const { store, accountId, log, maxMessageBytes } = opts;
    const entered = (name: string): void => {
      const room = this.get(name);
      if (room) this.changed({ added: room });
    };
    this.hosting = opts.hosting && new RoomHosting({ store, accountId, log: log.child({ component: 'room-hosting' }), maxMessageBytes, entered, ...opts.hosting });
    // A room we host: its own log (what anyone said, also while none of our clients was in, and kept across our
    // restarts); a room of another gateway: our copy of what it sent us. MAM and MUC history read the same.
    const of = (room: string) => (store.hostedRooms.get(accountId, room) ? store.hostedRoomLog : store.roomArchive);
    this.archive = {
      holds: (room) => of(room).holds(accountId, room),
      query: (room, q) => {
        try {
          return of(room).query(accountId, room, q);
        } catch (err) {
          if (err instanceof StoreError && err.code === 'unknown-id') throw new StanzaError('item-not-found', 'no message with that id in the room archive');
          throw err;
        }
      },
      history: (room, { limit, since }) => of(room).query(accountId, room, { limit, reverse: true, ...(since && { start: since }) }).entries.reverse(),
    };
  }

  /** Starts the rooms the account hosts. */
  async start(): Promise<void> {
    await this.hosting?.start();
  }

  list(): Room[] {
    return this.opts.store.rooms.list(this.opts.accountId).map(view);
  }

  get(name: string): Room | undefined {
    const r = this.opts.store.rooms.get(this.opts.accountId, name.toLowerCase());
    return r && view(r);
  }

  add(share: string, name?: string): Room {
    const s = parseShareString(share);
    if (s.fingerprint === this.opts.identity.fingerprint) throw new StanzaError('not-acceptable', 'that is our own fingerprint, not a room');
    const n = (name?.trim() || s.fingerprint.slice(0, 12)).toLowerCase();
    if (!ROOM_NAME.test(n)) throw new StanzaError('jid-malformed', `${ROOM_NAME_RULE}: "${n.slice(0, 70)}" is not`);
    const room = view(this.opts.store.rooms.put(this.opts.accountId, n, s.fingerprint, formatAddress(s)));
    this.changed({ added: room });
    return room;
  }

  watch(listener: (change: RoomListChange) => void): () => void {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  /** A listener that throws is logged; the change is made and the others hear of it. */
  private changed(change: RoomListChange): void {
    for (const w of this.watchers) {
      try {
        w(change);
      } catch (err) {
        this.opts.log.error({ err }, 'room change listener failed');
      }
    }
  }

  remove(name: string): void {
    const n = name.toLowerCase();
    // A room we host goes with its entry: nobody could join it from here any more.
    if (this.hosting?.get(n)) void this.hosting.unhost(n);
    if (!this.opts.store.rooms.remove(this.opts.accountId, n)) throw new StanzaError('item-not-found', `no room named ${n}`);
    this.changed({ removed: n });
    for (const s of [...this.sessions]) {
      if (s.room !== n) continue;
      this.sessions.delete(s);
      void s.link.close();
      s.handlers.down({ reason: 'the room was removed', wasJoined: s.link.state === 'joined' });
    }
  }

  join(name: string, nick: string, handlers: RoomHandlers, opts: { history?: number } = {}): RoomSession {
    const room = this.get(name);
    if (!room) throw new StanzaError('item-not-found', `no room named ${name.toLowerCase()}: add it first (room add <share-string> ${name.toLowerCase()})`);
    const address = parseAddress(room.address);
    const maxMessageBytes = this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const link = new RoomLink({
      fingerprint: room.fingerprint,
      address,
      dialer: this.opts.dialerFor(address),
      tls: (this.tls ??= createTlsContext(this.opts.identity)),
      alias: aliasForNick(nick),
      joinTimeoutMs: this.opts.joinTimeoutMs,
      maxMessageBytes,
      backoff: this.opts.backoff,
      // What we keep of the room already: the room sends what followed (nothing lost while we were out, nothing twice).
      resumeAfter: this.lastArchived(room.name),
      // A client asked for more than we keep: the room's first connection asks the room for that many too.
      ...(opts.history !== undefined && opts.history > this.kept(room.name, opts.history) && { history: opts.history }),
      log: this.opts.log.child({ room: room.name }),
    });
    const entry = { link, room: room.name, handlers };
    this.sessions.add(entry);
    const now = this.opts.now ?? (() => new Date());
    /** Our wire id → the client's id, where the client's is not one the room frames allow. */
    const clientIds = new Map<string, string>();
    link.on('joined', (self) => handlers.joined(self));
    link.on('line', (line) => handlers.event(toEvent(line, now())));
    link.on('caught-up', () => handlers.event({ kind: 'history-end' }));
    link.on('presence', (p) => handlers.event({ kind: p.present ? 'joins' : 'quits', name: p.name, alias: p.alias }));
    link.on('marked', (m) => handlers.event({ kind: 'marker', name: m.name, alias: m.alias, id: m.id, marker: m.marker }));
    link.on('said', (m) => {
      try {
        this.opts.store.roomArchive.add(this.opts.accountId, room.name, { id: m.id, nick: m.alias, text: m.text, stamp: m.at });
      } catch (err) {
        this.opts.log.warn({ room: room.name, err: (err as Error).message }, 'room message not archived');
      }
      const echo = m.echo !== undefined ? (clientIds.get(m.echo) ?? m.echo) : undefined;
      if (m.echo !== undefined) clientIds.delete(m.echo);
      handlers.event({ kind: 'message', name: m.name, alias: m.alias, text: m.text, id: m.id, ...(m.history && { stamp: m.at }), ...(echo !== undefined && { echo }) });
    });
    link.on('down', (info) => handlers.down(info));
    link.start();
    return {
      get echoes() {
        return link.extended;
      },
      send: async (text, clientId) => {
        const visible = roomVisible(text.replace(/\r\n?/g, '\n'));
        if (Buffer.byteLength(visible, 'utf8') > link.maxLineBytes) {
          throw new StanzaError('not-acceptable', `too long for the room: at most ${link.maxLineBytes} bytes (a member's line limit, less the room's prefix)`);
        }
        const lines = visible.split('\n').filter((l) => l !== '');
        if (lines.length === 0) throw new StanzaError('not-acceptable', 'nothing the room would show (empty, or control characters only)');
        try {
          if (link.extended) {
            // One message of several lines, with an id the room echoes (the client's, when the frames allow it).
            const id = clientId !== undefined && isLinkId(clientId) ? clientId : randomUUID();
            if (clientId !== undefined && id !== clientId) {
              if (clientIds.size >= 100) clientIds.delete(clientIds.keys().next().value!);
              clientIds.set(id, clientId);
            }
            await link.say(id, lines.join('\n'));
          } else for (const l of lines) await link.send(l);
        } catch (err) {
          if (err instanceof RoomNotJoinedError) throw new StanzaError('recipient-unavailable', 'not connected to the room right now; the gateway is reconnecting');
          throw new StanzaError('recipient-unavailable', `the room link failed: ${(err as Error).message}`);
        }
        return lines.join('\n');
      },
      mark: (id, marker) => link.mark(id, marker),
      leave: async () => {
        this.sessions.delete(entry);
        await link.close();
      },
    };
  }

  /** The room's id of the newest message in our archive of it, if any (a store failure: none, the room sends its last). */
  private lastArchived(room: string): string | undefined {
    try {
      return this.opts.store.roomArchive.query(this.opts.accountId, room, { limit: 1, reverse: true }).entries[0]?.id;
    } catch (err) {
      this.opts.log.warn({ room, err: (err as Error).message }, 'room archive not read');
      return undefined;
    }
  }

  /** How many messages of the room we keep, counted up to `upTo` (a store failure: none). */
  private kept(room: string, upTo: number): number {
    try {
      return this.opts.store.roomArchive.query(this.opts.accountId, room, { limit: upTo, reverse: true }).entries.length;
    } catch {
      return 0;
    }
  }

  /** Closes every room link (the gateway stops). */
  async stop(): Promise<void> {
    const all = [...this.sessions];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.link.close()));
    await this.hosting?.stop();
  }
}

function view(r: { name: string; fingerprint: string; address: string }): Room {
  return { name: r.name, fingerprint: r.fingerprint, address: r.address };
}

function toEvent(line: RoomLine, now: Date): RoomEvent {
  switch (line.kind) {
    case 'message':
    case 'joins':
    case 'quits': {
      const stamp = roomStamp(line.hour, line.minute, now);
      const base = { name: line.name, alias: line.alias, ...(stamp && { stamp }) };
      return line.kind === 'message' ? { kind: 'message', ...base, text: line.text } : { kind: line.kind, ...base };
    }
    case 'alias-question':
      return { kind: 'notice', text: 'Enter your alias, please.' };
    default:
      return { kind: 'notice', text: line.text };
  }
}
