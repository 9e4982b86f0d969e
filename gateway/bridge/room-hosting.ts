// Rooms the gateway hosts (docs/rooms.md, "Hosting a room"): one RoomHost (bridge-protocol) per stored room, on
// its own port and with its own identity, its members remembered in the store as fp2alias remembers them. The
// account's own users join it as they join any room: it is added to their rooms, reached over loopback.
import type { Logger } from 'pino';
import type { Store, StoredHostedRoom } from '../store/index.js';
import { StoreError } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { HostedPolicy, HostedRoomInfo, RoomHostingApi } from './contract.js';
import { BANNED, RoomHost, aliasForNick, createTlsContext, fingerprintOf, generateIdentity, identityFromPem, type RoomBook, type RoomLog } from './peer-protocol.js';
import { formatShareString, isFingerprint } from './share-string.js';

export interface RoomHostingOptions {
  store: Store;
  accountId: number;
  log: Logger;
  /** Where room listeners bind (the peer listener's host). */
  listenHost: string;
  /** The host written into a room's share string. */
  advertiseHost: string;
  maxMessageBytes?: number;
  /** Tests set small ones. */
  limits?: { maxMembers?: number; historyLines?: number; floodBurst?: number; floodPerSecond?: number };
  /** The account's own entry for a room it hosts was written (each time the room starts): its users may join it. */
  entered?: (name: string) => void;
}

/** How the account's own users reach a room it hosts (room listeners bind the peer host, loopback included). */
const LOCAL_HOST = '127.0.0.1';

/** A port of our onion service: the virtual port (the room's own port) to the room's listener. */
export interface OnionPort {
  virt: number;
  target: string;
}

export class RoomHosting implements RoomHostingApi {
  private readonly hosts = new Map<string, { host: RoomHost; fingerprint: string }>();
  /** Rooms listen only once the network started (the CLI of a stopped gateway only writes the store). */
  private started = false;
  /** Told when the rooms' ports change (a room hosted or unhosted while running): the daemon's onion follows. */
  portsChanged: ((ports: OnionPort[]) => void) | undefined;

  constructor(private readonly o: RoomHostingOptions) {}

  /** Starts every stored room on its port. A room whose port is taken is logged and skipped; the others run. */
  async start(): Promise<void> {
    this.started = true;
    for (const r of this.o.store.hostedRooms.list(this.o.accountId)) {
      try {
        await this.run(r);
      } catch (err) {
        this.o.log.error({ room: r.name, port: r.port, err: (err as Error).message }, 'hosted room not started');
      }
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    const all = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(all.map((h) => h.host.close()));
  }

  /** The running rooms as onion ports: each at its own port, forwarded to its listener on loopback. */
  onionPorts(): OnionPort[] {
    const local = ['0.0.0.0', '::', ''].includes(this.o.listenHost) ? LOCAL_HOST : this.o.listenHost;
    return [...this.hosts.values()].map(({ host }) => host.addresses()[0]!.port).map((port) => ({ virt: port, target: `${local}:${port}` }));
  }

  list(): HostedRoomInfo[] {
    return this.o.store.hostedRooms.list(this.o.accountId).map((r) => this.info(r));
  }

  get(name: string): HostedRoomInfo | undefined {
    const r = this.o.store.hostedRooms.get(this.o.accountId, name.toLowerCase());
    return r && this.info(r);
  }

  async host(name: string, policy: HostedPolicy): Promise<HostedRoomInfo> {
    const n = name.trim().toLowerCase();
    const existing = this.o.store.hostedRooms.get(this.o.accountId, n);
    if (existing) {
      this.o.store.hostedRooms.setPolicy(this.o.accountId, n, policy);
      return this.info(this.stored(n));
    }
    if (this.o.store.rooms.get(this.o.accountId, n)) throw new StanzaError('conflict', `you already have a room named ${n} (room remove ${n} first, or pick another name)`);
    const id = await generateIdentity({ commonName: `tlsim room ${n}` });
    try {
      this.o.store.hostedRooms.create(this.o.accountId, n, policy, id.keyPem, id.certPem);
    } catch (err) {
      if (err instanceof StoreError) throw new StanzaError('jid-malformed', err.message);
      throw err;
    }
    try {
      if (this.started) await this.run(this.stored(n));
    } catch (err) {
      this.o.store.hostedRooms.remove(this.o.accountId, n);
      throw new StanzaError('internal-server-error', `the room could not listen: ${(err as Error).message}`);
    }
    if (this.started) this.portsChanged?.(this.onionPorts());
    return this.info(this.stored(n));
  }

  allow(name: string, fingerprint: string, alias: string): HostedRoomInfo {
    const r = this.stored(name.toLowerCase());
    const fp = fingerprint.trim().toLowerCase();
    if (!isFingerprint(fp)) throw new StanzaError('bad-request', 'a member is given by its fingerprint (64 hex characters) or a contact');
    if (!/^[a-z0-9]{2,32}$/.test(alias)) throw new StanzaError('bad-request', `an alias is 2 to 32 of a-z 0-9, as the reference room has them: "${alias.slice(0, 40)}" is not`);
    try {
      this.o.store.hostedRooms.putMember(this.o.accountId, r.name, fp, alias);
    } catch (err) {
      if (err instanceof StoreError) throw new StanzaError('conflict', err.message);
      throw err;
    }
    this.o.store.hostedRooms.setBanned(this.o.accountId, r.name, fp, false);
    return this.info(r);
  }

  ban(name: string, who: string): HostedRoomInfo {
    const r = this.stored(name.toLowerCase());
    const w = who.trim().toLowerCase();
    const m = isFingerprint(w) ? this.o.store.hostedRooms.member(this.o.accountId, r.name, w) : this.o.store.hostedRooms.memberByAlias(this.o.accountId, r.name, w);
    if (!m) throw new StanzaError('item-not-found', `nobody in ${r.name} is ${w.slice(0, 64)} (room members ${r.name} lists them)`);
    this.o.store.hostedRooms.setBanned(this.o.accountId, r.name, m.fingerprint, true);
    this.hosts.get(r.name)?.host.kick(m.fingerprint, BANNED);
    return this.info(r);
  }

  invite(name: string, fingerprint: string, nameHint: string): HostedRoomInfo & { alias: string } {
    const r = this.stored(name.toLowerCase());
    const fp = fingerprint.toLowerCase();
    const known = this.o.store.hostedRooms.member(this.o.accountId, r.name, fp);
    if (known) {
      this.o.store.hostedRooms.setBanned(this.o.accountId, r.name, fp, false);
      return { ...this.info(r), alias: known.alias };
    }
    const base = aliasForNick(nameHint).slice(0, 28);
    let alias = base;
    for (let n = 2; this.o.store.hostedRooms.memberByAlias(this.o.accountId, r.name, alias); n++) alias = `${base}${n}`;
    this.o.store.hostedRooms.putMember(this.o.accountId, r.name, fp, alias);
    return { ...this.info(r), alias };
  }

  async unhost(name: string): Promise<void> {
    const n = name.toLowerCase();
    const h = this.hosts.get(n);
    this.hosts.delete(n);
    await h?.host.close();
    this.o.store.hostedRooms.remove(this.o.accountId, n);
    if (h && this.started) this.portsChanged?.(this.onionPorts());
  }

  private stored(name: string): StoredHostedRoom {
    const r = this.o.store.hostedRooms.get(this.o.accountId, name);
    if (!r) throw new StanzaError('item-not-found', `you host no room named ${name} (room host ${name} makes one)`);
    return r;
  }

  private async run(r: StoredHostedRoom): Promise<void> {
    const id = identityFromPem(r.keyPem, r.certPem);
    const { store, accountId } = this.o;
    const book: RoomBook = {
      aliasOf: (fp) => store.hostedRooms.member(accountId, r.name, fp)?.alias,
      holderOf: (alias) => store.hostedRooms.memberByAlias(accountId, r.name, alias)?.fingerprint,
      remember: (fp, alias) => store.hostedRooms.putMember(accountId, r.name, fp, alias),
      banned: (fp) => store.hostedRooms.member(accountId, r.name, fp)?.banned ?? false,
    };
    // The room's log in the store: one write per message, in the turn's group commit (no transaction of its own).
    const logStore: RoomLog = {
      load: (limit) => store.hostedRoomLog.load(accountId, r.name, limit),
      append: (e, keep) => store.group.run(() => store.hostedRoomLog.append(accountId, r.name, e, keep), Buffer.byteLength(e.text)),
    };
    const host = new RoomHost({
      tls: createTlsContext(id),
      listen: [{ host: this.o.listenHost, port: r.port }],
      policy: () => store.hostedRooms.get(accountId, r.name)?.policy ?? 'members',
      book,
      logStore,
      log: this.o.log.child({ hostedRoom: r.name }),
      maxMessageBytes: this.o.maxMessageBytes,
      ...this.o.limits,
    });
    await host.listen();
    const port = host.addresses()[0]!.port;
    // The first start picks the port; from then on the room keeps it, so its share string stays valid.
    if (r.port !== port) store.hostedRooms.setPort(accountId, r.name, port);
    this.hosts.set(r.name, { host, fingerprint: id.fingerprint });
    // The account's own users join it as any room (a MUC), over loopback.
    store.rooms.put(accountId, r.name, id.fingerprint, `${LOCAL_HOST}:${port}`);
    this.o.entered?.(r.name);
    this.o.log.info({ room: r.name, port, policy: r.policy }, 'hosting room');
  }

  private info(r: StoredHostedRoom): HostedRoomInfo {
    // From the certificate alone: parsing the room's private key on every look at it is not needed.
    const fingerprint = this.hosts.get(r.name)?.fingerprint ?? fingerprintOf(r.certPem);
    const host = this.hosts.get(r.name)?.host;
    const port = host?.addresses()[0]?.port ?? r.port;
    return {
      name: r.name,
      policy: r.policy,
      fingerprint,
      ...(port !== 0 && { share: formatShareString({ fingerprint, host: this.o.advertiseHost, port }) }),
      present: host?.members() ?? [],
      members: this.o.store.hostedRooms.members(this.o.accountId, r.name).map(({ alias, fingerprint: fp, banned }) => ({ alias, fingerprint: fp, banned })),
    };
  }
}
