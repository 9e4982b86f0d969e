// Receipts and chat markers between two gateways (x-tlsim-gateway/3; XEP-0184, XEP-0333): ours kept until the
// peer's gateway is online and has acknowledged them, theirs mapped back to the id our user's client gave the message.
import type { Logger } from 'pino';
import type { Store, StoredContact } from '../store/index.js';
import type { GatewaySink, Marker } from './contract.js';
import { isLinkId, type PeerManager } from './peer-protocol.js';
import { short } from './names.js';
import { PerPeerDrain } from './per-peer-drain.js';

/** Markers handed to a link at once; the rest follow as these are acknowledged. */
const BATCH = 100;

export interface MarkerRelayOptions {
  store: Store;
  accountId: number;
  peers: Pick<PeerManager, 'sendMarker' | 'isOnline'>;
  sink: () => GatewaySink | undefined;
  log: Logger;
}

export class MarkerRelay {
  private readonly drains = new PerPeerDrain((fp) => this.drain(fp));

  constructor(private readonly o: MarkerRelayOptions) {}

  /**
   * Our user's client got (or displayed) the peer's message `msgId`. Only a gateway peer can be told (its last
   * link spoke /3): the marker is kept in the store, goes out now if the link is up, else when it is back. For
   * any other peer, or an id the peer never gave, nothing happens.
   */
  send(c: StoredContact, marker: Marker, msgId: string): void {
    if (c.state !== 'contact' || !c.gateway || !isLinkId(msgId)) return;
    try {
      this.o.store.markers.enqueue(this.o.accountId, c.fingerprint, marker, msgId);
    } catch (err) {
      this.o.log.warn({ peer: short(c.fingerprint), err }, 'could not keep a marker');
      return;
    }
    if (this.o.peers.isOnline(c.fingerprint)) void this.flush(c.fingerprint);
  }

  /** Sends what waits for the peer, in order; one drain per peer at a time, reading the store again before it ends. */
  flush(fp: string): Promise<void> {
    return this.drains.run(fp);
  }

  /** The peer's gateway says its user's client got our message `linkId`: tell our user's client, by its own id. */
  received(fp: string, marker: Marker, linkId: string): void {
    const entry = this.o.store.archive.findByLinkId(this.o.accountId, fp, 'out', linkId);
    if (!entry?.xmppId) {
      this.o.log.debug({ peer: short(fp), marker }, 'marker for a message we do not know (or sent without an id)');
      return;
    }
    this.o.sink()?.onMarker(fp, marker, { xmppId: entry.xmppId });
  }

  /**
   * Never rejects. A marker leaves the store once acknowledged, or once the link said it cannot carry it (the peer
   * is no gateway any more); a link that goes down leaves the rest for the next one.
   */
  private async drain(fp: string): Promise<void> {
    const { store, accountId } = this.o;
    try {
      for (;;) {
        if (!this.o.peers.isOnline(fp)) return;
        const batch = store.markers.peek(accountId, fp, BATCH);
        if (batch.length === 0) return;
        const done = await Promise.allSettled(batch.map((m) => this.o.peers.sendMarker(fp, m.marker, m.msgId)));
        store.transaction(() => {
          done.forEach((r, i) => r.status === 'fulfilled' && store.markers.remove(accountId, batch[i]!.seq));
        });
        const failed = done.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    } catch (err) {
      this.o.log.debug({ peer: short(fp), err: (err as Error).message }, 'marker flush interrupted');
    } finally {
      // Synchronously with the last look at the store: a flush after this starts a new drain.
      this.drains.ended(fp);
    }
  }
}
