// What peers send, on its way to the user: markup of reference Pidgin users made plain, a gateway's repeats
// dropped by link id, requests' messages held, everything else archived and handed to the user (or kept for an
// offline one) in one commit per loop turn, in order with its archive id (XEP-0359), chat states kept in order
// behind the messages before them. A gateway peer's messages are acknowledged only after that commit (commit()).
import type { Logger } from 'pino';
import type { ArchiveInput, Store } from '../store/index.js';
import type { ChatState, GatewaySink, MessageRequests } from './contract.js';
import type { History } from './history.js';
import { libpurpleToPlain, looksLikeMarkup } from './markup.js';
import { short } from './names.js';
import type { LinkMessage } from './peer-protocol.js';

type Pending = { archived: ArchiveInput; requests?: MessageRequests } | { fingerprint: string; state: ChatState };

export interface InboundOptions {
  store: Store;
  accountId: number;
  history: History;
  log: Logger;
  sink: () => GatewaySink | undefined;
}

export class Inbound {
  /**
   * Received messages to archive at the end of this loop turn, in one commit, and then hand to the user
   * with their archive ids: no message goes out with an id the archive does not hold.
   */
  private readonly pending: Pending[] = [];
  /** "<fp> <id>" of the gateway messages in `pending`: a repeat in the same turn is caught too. */
  private readonly pendingIds = new Set<string>();
  /** Gateway peers whose messages could not be kept: their link must not acknowledge them (commit() throws). */
  private readonly unkept = new Set<string>();

  constructor(private readonly o: InboundOptions) {}

  text(fp: string, m: LinkMessage): void {
    const { store, accountId: acct } = this.o;
    const { truncated, id } = m;
    const requests = m.receipt || m.markable ? { ...(m.receipt && { receipt: true }), ...(m.markable && { markable: true }) } : undefined;
    // COMPAT(libpurple): reference Pidgin users send libpurple markup; users read plain text. (A gateway sends
    // what its user typed: never converted.)
    const text = id === undefined && looksLikeMarkup(m.text) ? libpurpleToPlain(m.text) : m.text;
    const c = store.contacts.get(acct, fp);
    if (!c) {
      // Every linked peer has a contact row (made at link-up, a request at least) unless writing it failed (a full
      // disk): a gateway peer's message is then not acknowledged, and comes again on a link that has its row.
      this.o.log.warn({ peer: short(fp) }, 'message from a peer without a contact row; not kept');
      if (id !== undefined) this.unkept.add(fp);
      return;
    }
    if (c.state === 'blocked') return;
    if (id !== undefined && this.seenBefore(fp, id)) {
      // At-least-once between gateways: a message read just before a link died, whose acknowledgement was lost,
      // comes again on the next link with the same id. Shown once.
      this.o.log.debug({ peer: short(fp) }, 'message received again; dropped');
      return;
    }
    const archived: ArchiveInput = { fingerprint: fp, direction: 'in', text, truncated, ...(id !== undefined && { linkId: id }) };
    if (c.state === 'requested') {
      try {
        store.transaction(() => {
          const stanzaId = this.o.history.record(archived, false);
          store.held.add(acct, fp, text, { truncated, id, requests, stanzaId });
        });
      } catch (err) {
        this.o.log.error({ err, peer: short(fp) }, 'holding a message from a contact request failed');
        if (id !== undefined) this.unkept.add(fp);
      }
      return;
    }
    if (id !== undefined) this.pendingIds.add(`${fp} ${id}`);
    // Archived with the others of this loop turn in one commit instead of one commit each, then delivered.
    if (this.pending.push({ archived, ...(requests && { requests }) }) === 1) setImmediate(() => this.flush());
  }

  /** A peer's chat state: after the messages it sent before it, which may still wait for their archive commit. */
  chatState(fp: string, state: ChatState): void {
    if (this.pending.length === 0) this.o.sink()?.onChatState(fp, state);
    else this.pending.push({ fingerprint: fp, state });
  }

  /** Archives what arrived this loop turn and hands it to the user (see commit()); failures are logged there. */
  flush(): void {
    const batch = this.pending.splice(0);
    this.pendingIds.clear();
    if (batch.length === 0) return;
    const { store, log } = this.o;
    try {
      // ONE commit: the archive entries and whatever the user's side writes for them (the copy kept for an
      // offline user, a client without MAM). A kill between two commits would leave a message archived (so a
      // resend is dropped as seen) but never shown to that client.
      // And no client reads one before that commit: a kill in between would have it shown now and again once
      // its peer sends it again (GatewaySink.batch).
      // The commit is the store's group commit: it also covers what the user sent this turn (sendText).
      heldUntilCommitted(this.o.sink(), () => {
        store.group.run(() => this.deliver(batch, (m) => this.o.history.record(m, true)));
        store.group.commitNow();
      });
      return;
    } catch (err) {
      log.error({ err, count: batch.length }, 'keeping received messages failed');
    }
    // Rolled back. A gateway peer keeps its messages until we acknowledge them: not acknowledged, sent again
    // on its next link. A reference peer never sends again: delivered all the same, without ids (the message
    // matters more than its history), where the user's side can still take it.
    for (const item of batch) if ('archived' in item && item.archived.linkId !== undefined) this.unkept.add(item.archived.fingerprint);
    const plain = batch.filter((item) => !('archived' in item) || item.archived.linkId === undefined);
    try {
      this.deliver(plain, () => undefined);
    } catch (err) {
      log.error({ err, count: plain.length }, 'received messages could not be handed to the user');
    }
  }

  /**
   * Called right before a gateway link acknowledges what it read from `fp`: everything received so far is
   * committed (flush()), and a throw when the peer's messages could not be kept, so the link is cut
   * unacknowledged and the peer sends them again.
   */
  commit(fp: string): void {
    this.flush();
    // What else this turn wrote (a held message of a contact request) is on disk before the ACK too.
    this.o.store.group.commitNow();
    if (!this.unkept.delete(fp)) return;
    throw new Error(`messages from ${short(fp)} could not be kept; not acknowledged, the peer sends them again`);
  }

  private deliver(batch: Pending[], record: (m: ArchiveInput) => string | undefined): void {
    const sink = this.o.sink();
    for (const item of batch) {
      if (!('archived' in item)) {
        sink?.onChatState(item.fingerprint, item.state);
        continue;
      }
      const { archived: m, requests } = item;
      const stanzaId = record(m);
      sink?.onText(m.fingerprint, {
        text: m.text,
        truncated: m.truncated,
        ...(m.linkId !== undefined && { id: m.linkId }),
        ...(requests && { requests }),
        ...(stanzaId !== undefined && { stanzaId }),
      });
    }
  }

  /** The peer's message `id` is in the archive already, or on its way there (this loop turn). */
  private seenBefore(fp: string, id: string): boolean {
    return this.pendingIds.has(`${fp} ${id}`) || this.o.store.archive.findByLinkId(this.o.accountId, fp, 'in', id) !== undefined;
  }
}

/** Runs the commit through the sink's batch when it has one: what the user's clients are sent waits for it. */
export function heldUntilCommitted<T>(sink: GatewaySink | undefined, commit: () => T): T {
  return sink?.batch ? sink.batch(commit) : commit();
}
