// The RoomNetwork over real links: rooms kept in the store, one RoomLink (bridge-protocol) per join, the room's
// lines turned into RoomEvents with delay stamps where its clock differs (docs/rooms.md).
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { ROOM_NAME } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Room, RoomEvent, RoomHandlers, RoomNetwork, RoomSession } from './contract.js';
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
  hosting?: Omit<RoomHostingOptions, 'store' | 'accountId' | 'log' | 'maxMessageBytes'>;
}

export class TlsimRooms implements RoomNetwork {
  private readonly sessions = new Set<{ link: RoomLink; room: string; handlers: RoomHandlers }>();
  private tls: ReturnType<typeof createTlsContext> | undefined;
  readonly hosting: RoomHosting | undefined;

  constructor(private readonly opts: TlsimRoomsOptions) {
    const { store, accountId, log, maxMessageBytes } = opts;
    this.hosting = opts.hosting && new RoomHosting({ store, accountId, log: log.child({ component: 'room-hosting' }), maxMessageBytes, ...opts.hosting });
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
    if (!ROOM_NAME.test(n)) throw new StanzaError('jid-malformed', `a room name is 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit): "${n.slice(0, 70)}" is not`);
    return view(this.opts.store.rooms.put(this.opts.accountId, n, s.fingerprint, formatAddress(s)));
  }

  remove(name: string): void {
    const n = name.toLowerCase();
    // A room we host goes with its entry: nobody could join it from here any more.
    if (this.hosting?.get(n)) void this.hosting.unhost(n);
    if (!this.opts.store.rooms.remove(this.opts.accountId, n)) throw new StanzaError('item-not-found', `no room named ${n}`);
    for (const s of [...this.sessions]) {
      if (s.room !== n) continue;
      this.sessions.delete(s);
      void s.link.close();
      s.handlers.down({ reason: 'the room was removed', wasJoined: s.link.state === 'joined' });
    }
  }

  join(name: string, nick: string, handlers: RoomHandlers): RoomSession {
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
      log: this.opts.log.child({ room: room.name }),
    });
    const entry = { link, room: room.name, handlers };
    this.sessions.add(entry);
    const now = this.opts.now ?? (() => new Date());
    link.on('joined', (self) => handlers.joined(self));
    link.on('line', (line) => handlers.event(toEvent(line, now())));
    link.on('down', (info) => handlers.down(info));
    link.start();
    return {
      send: async (text) => {
        const visible = roomVisible(text.replace(/\r\n?/g, '\n'));
        if (Buffer.byteLength(visible, 'utf8') > link.maxLineBytes) {
          throw new StanzaError('not-acceptable', `too long for the room: at most ${link.maxLineBytes} bytes (a member's line limit, less the room's prefix)`);
        }
        const lines = visible.split('\n').filter((l) => l !== '');
        if (lines.length === 0) throw new StanzaError('not-acceptable', 'nothing the room would show (empty, or control characters only)');
        try {
          for (const l of lines) await link.send(l);
        } catch (err) {
          if (err instanceof RoomNotJoinedError) throw new StanzaError('recipient-unavailable', 'not connected to the room right now; the gateway is reconnecting');
          throw new StanzaError('recipient-unavailable', `the room link failed: ${(err as Error).message}`);
        }
        return lines.join('\n');
      },
      leave: async () => {
        this.sessions.delete(entry);
        await link.close();
      },
    };
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
