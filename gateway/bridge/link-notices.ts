// What the user is told when a contact cannot be reached: a fingerprint mismatch (a warning), and
// why messages queued for a peer over Tor wait; each at most once per reason and ten minutes.
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { displayName, short } from './names.js';
import { FingerprintMismatchError, PeerUnreachableError, isOnionHost, type PeerAddress } from './peer-protocol.js';
import { formatAddress } from './share-string.js';
import { dialFailureText } from './tor-dialer.js';

const REPEAT_AFTER_MS = 10 * 60_000;

export interface LinkNoticesOptions {
  store: Store;
  accountId: number;
  log: Logger;
  /** Tell the user (a line from the gateway contact). */
  notify(text: string): void;
}

export class LinkNotices {
  private readonly mismatchToldAt = new Map<string, number>();
  private readonly dialFailureTold = new Map<string, { text: string; at: number }>();

  constructor(private readonly o: LinkNoticesOptions) {}

  /** A link came up: the next failure is news again. */
  linkUp(fp: string): void {
    this.dialFailureTold.delete(fp);
  }

  /** Why messages waiting for a peer over Tor do not go out ("peer offline: onion service not found"). */
  dialFailed(fp: string, address: PeerAddress, error: Error, retryInMs: number | undefined): void {
    // Direct peers: the queued notice already says "offline"; Tor has reasons worth telling (tor.md §5.2).
    const viaTor =
      isOnionHost(address.host) ||
      (error instanceof PeerUnreachableError && (error.socksReply !== undefined || error.reason === 'proxy-failed'));
    if (!viaTor || this.o.store.outbox.countFor(this.o.accountId, fp) === 0) return;
    const text = dialFailureText(error);
    const told = this.dialFailureTold.get(fp);
    if (told && told.text === text && Date.now() - told.at < REPEAT_AFTER_MS) return;
    this.dialFailureTold.set(fp, { text, at: Date.now() });
    const retry = retryInMs === undefined ? '' : ` I try again in ${Math.max(1, Math.round(retryInMs / 1000))} s;`;
    this.o.notify(
      `Cannot reach ${this.nameOf(fp)} at ${formatAddress(address)}: ${text}.${retry} your messages stay queued until the link is up.`,
    );
  }

  /** Another identity answered at a contact's address: the link was dropped before any data. */
  mismatch(fp: string, address: PeerAddress, err: FingerprintMismatchError): void {
    const last = this.mismatchToldAt.get(fp) ?? 0;
    if (Date.now() - last < REPEAT_AFTER_MS) return;
    this.mismatchToldAt.set(fp, Date.now());
    this.o.log.warn({ peer: short(fp), address: formatAddress(address), actual: err.actual }, 'fingerprint mismatch');
    const c = this.o.store.contacts.get(this.o.accountId, fp);
    this.o.notify(
      `Warning: the peer at ${formatAddress(address)} is not ${c ? displayName(c) : 'the contact'}. ` +
        `It presented fingerprint ${err.actual}, but ${err.expected} was expected. ` +
        'The connection was dropped before any message was exchanged. Check the address (or someone else is answering there).',
    );
  }

  private nameOf(fp: string): string {
    const c = this.o.store.contacts.get(this.o.accountId, fp);
    return c ? displayName(c) : short(fp);
  }
}
