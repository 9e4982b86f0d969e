// The contacts of one account on the tlsim network: add, rename, remove, requests and their answer, blocking, and
// what a link coming up means for the contact list (an unknown peer becomes a request or, by policy, a contact).
// The store is the truth; the peer manager is told whom to keep links with.
import type { Logger } from 'pino';
import type { Store, StoredContact } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Directory } from '../directory/directory.js';
import type { AddContactOptions, Contact, GatewaySink, PeerId } from './contract.js';
import { heldUntilCommitted } from './inbound.js';
import { displayName, short } from './names.js';
import type { OutboxFlusher } from './outbox-flusher.js';
import { isFingerprint, type Identity, type LinkProtocol, type PeerAddress, type PeerManager } from './peer-protocol.js';
import { formatAddress, parseAddress } from './share-string.js';

export type UnknownPeerPolicy = 'ask' | 'accept' | 'reject';

export interface ContactBookOptions {
  store: Store;
  accountId: number;
  identity: Identity;
  log: Logger;
  peers: PeerManager;
  outbox: OutboxFlusher;
  directory: Directory;
  sink: () => GatewaySink | undefined;
  unknownPolicy: UnknownPeerPolicy;
}

export class ContactBook {
  private unknownPolicy: UnknownPeerPolicy;

  constructor(private readonly o: ContactBookOptions) {
    this.unknownPolicy = o.unknownPolicy;
  }

  private get sink(): GatewaySink | undefined {
    return this.o.sink();
  }

  /** Applies to the next unknown peer that connects (config reload). */
  setUnknownPolicy(policy: UnknownPeerPolicy): void {
    this.unknownPolicy = policy;
  }

  stored(): StoredContact[] {
    return this.o.store.contacts.list(this.o.accountId);
  }

  list(): Contact[] {
    return this.stored().map((c) => this.view(c));
  }

  get(id: PeerId): Contact | undefined {
    const c = this.o.store.contacts.get(this.o.accountId, id);
    return c && this.view(c);
  }

  isContact(fp: string): boolean {
    return this.o.store.contacts.get(this.o.accountId, fp)?.state === 'contact';
  }

  async add(id: PeerId, opts: AddContactOptions = {}): Promise<Contact> {
    const { store, accountId: acct, peers } = this.o;
    const fp = checkId(id);
    if (fp === this.o.identity.fingerprint) throw new StanzaError('not-acceptable', 'that is our own fingerprint');
    const before = store.contacts.get(acct, fp);
    // No address given for a peer we have none for: the one a crawled profile gave (a search result being added).
    const address = opts.address ? formatAddress(parseAddress(opts.address)) : before?.address ? undefined : this.o.directory.addressOf(fp);
    if (before?.state === 'requested') return this.accept(fp, { name: opts.name, address });
    const c = store.contacts.upsert(acct, fp, {
      state: 'contact',
      ...(opts.name !== undefined && { name: opts.name }),
      ...(address !== undefined && { address }),
    });
    peers.setPeer(fp, addressOf(c));
    this.sink?.onContactChanged(this.view(c));
    if (c.address) peers.connect(fp);
    else if (!peers.isOnline(fp)) {
      this.sink?.onNotice(
        `Added ${displayName(c)}. I have no address for this peer yet: send me "add ${fp} <host> <port>" ` +
          '(or its share string), or wait until it connects to us.',
      );
    }
    return this.view(c);
  }

  async rename(id: PeerId, name: string): Promise<Contact> {
    const c = this.o.store.contacts.rename(this.o.accountId, checkId(id), name.trim() || null);
    if (!c) throw new StanzaError('item-not-found', 'no such contact');
    this.sink?.onContactChanged(this.view(c));
    return this.view(c);
  }

  async remove(id: PeerId): Promise<void> {
    const fp = checkId(id);
    if (!this.o.store.contacts.remove(this.o.accountId, fp)) throw new StanzaError('item-not-found', 'no such contact');
    this.o.peers.removePeer(fp);
    this.sink?.onContactRemoved(fp);
  }

  async answer(id: PeerId, accept: boolean): Promise<void> {
    const fp = checkId(id);
    const c = this.o.store.contacts.get(this.o.accountId, fp);
    if (c?.state !== 'requested') throw new StanzaError('item-not-found', 'no pending request from this peer');
    if (accept) await this.accept(fp, {});
    else await this.block(fp);
  }

  async block(id: PeerId): Promise<void> {
    const fp = checkId(id);
    const c = this.o.store.contacts.upsert(this.o.accountId, fp, { state: 'blocked' });
    // Cut now; authorize() keeps refusing it at the TLS layer from here on.
    this.o.peers.removePeer(fp);
    this.sink?.onContactChanged(this.view(c));
  }

  async unblock(id: PeerId): Promise<void> {
    const fp = checkId(id);
    const c = this.o.store.contacts.get(this.o.accountId, fp);
    if (c?.state !== 'blocked') return;
    const now = this.o.store.contacts.setState(this.o.accountId, fp, 'contact')!;
    this.o.peers.setPeer(fp, addressOf(now));
    this.sink?.onContactChanged(this.view(now));
  }

  listBlocked(): PeerId[] {
    return this.o.store.contacts.list(this.o.accountId, 'blocked').map((c) => c.fingerprint);
  }

  /** Whether a peer may have a link at all (the TLS layer asks). */
  authorize(fp: string): 'accept' | 'reject' {
    const c = this.o.store.contacts.get(this.o.accountId, fp);
    if (c?.state === 'blocked') return 'reject';
    if (!c && this.unknownPolicy === 'reject') return 'reject';
    return 'accept';
  }

  /**
   * A link came up: what the peer speaks is remembered, an unknown peer becomes a request (the user is asked) or a
   * contact (policy accept). Returns the contact when the link is one of a contact's, for the caller to go on.
   */
  linkUp(fp: string, protocol: LinkProtocol): StoredContact | undefined {
    const { store, accountId: acct } = this.o;
    let c = store.contacts.get(acct, fp);
    // What this peer speaks, remembered for while it is offline (its caps, whether markers can wait for it).
    const gateway = protocol === 'gateway/3';
    const learned = c !== undefined && c.gateway !== gateway;
    if (learned) c = store.contacts.setGateway(acct, fp, gateway);
    if (!c) {
      const state = this.unknownPolicy === 'accept' ? 'contact' : 'requested';
      c = store.contacts.upsert(acct, fp, { state });
      if (gateway) c = store.contacts.setGateway(acct, fp, true)!;
      if (state === 'requested') {
        this.o.log.info({ peer: short(fp) }, 'contact request from an unknown peer');
        this.sink?.onContactRequest(fp, {});
        return undefined;
      }
      this.sink?.onContactChanged(this.view(c));
    }
    if (c.state !== 'contact') return undefined;
    store.contacts.touch(acct, fp);
    // Before the presence: what the XMPP side offers for this contact (receipts, markers, states) changed.
    if (learned) this.sink?.onContactChanged(this.view(c));
    return c;
  }

  view(c: StoredContact): Contact {
    return {
      id: c.fingerprint,
      name: displayName(c),
      state: c.state,
      online: c.state === 'contact' && this.o.peers.isOnline(c.fingerprint),
      gateway: c.gateway,
      ...(c.address !== undefined && { address: c.address }),
    };
  }

  private async accept(fp: string, fields: { name?: string; address?: string }): Promise<Contact> {
    const { store, accountId: acct, peers } = this.o;
    // One commit: the held messages leave the store only with what the user's side wrote for them (the copy
    // kept for an offline client); should that fail, the request stays as it was.
    const contact = heldUntilCommitted(this.sink, () =>
      store.transaction(() => {
        const now = store.contacts.upsert(acct, fp, { state: 'contact', ...definedOnly(fields) });
        const held = store.held.take(acct, fp);
        this.sink?.onContactChanged(this.view(now));
        for (const m of held) this.sink?.onText(fp, m);
        return now;
      }),
    );
    peers.setPeer(fp, addressOf(contact));
    if (peers.isOnline(fp)) {
      this.sink?.onPeerOnline(fp);
      void this.o.outbox.flush(fp);
    } else if (contact.address) peers.connect(fp);
    return this.view(contact);
  }
}

export function checkId(id: string): string {
  const fp = id.toLowerCase();
  if (!isFingerprint(fp)) throw new StanzaError('jid-malformed', 'a peer is named by its 64-character hex fingerprint');
  return fp;
}

export function addressOf(c: StoredContact): PeerAddress | undefined {
  return c.address ? parseAddress(c.address) : undefined;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
