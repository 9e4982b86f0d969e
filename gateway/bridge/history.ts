// What the bridge writes to the account's history (XEP-0313 archive): every message in and out the user's
// preferences want kept, each with the stable id (XEP-0359 stanza-id) the XMPP side delivers it with.
import { createHash } from 'node:crypto';
import type { ArchiveInput, Store } from '../store/index.js';

export class History {
  constructor(
    private readonly store: Pick<Store, 'archive'>,
    private readonly accountId: number,
  ) {}

  /**
   * Archives the message if the preferences want it (`isContact`: the peer is in the roster, for
   * default "roster"); returns its stanza id, or undefined when it is not archived. Call it inside the
   * caller's transaction when the message is written elsewhere too (queue, held).
   */
  record(m: ArchiveInput, isContact: boolean): string | undefined {
    if (!this.store.archive.wants(this.accountId, m.fingerprint, isContact)) return undefined;
    return this.store.archive.append(this.accountId, m).stanzaId;
  }

  /** The stanza id of a message already sent to `fingerprint` under `linkId` (a client's resend), if any. */
  sentBefore(fingerprint: string, linkId: string): string | undefined {
    return this.store.archive.findByLinkId(this.accountId, fingerprint, 'out', linkId)?.stanzaId;
  }
}

/**
 * The link id of a message: from a client's XEP-0359 origin-id when it has one (printable ASCII of a fixed
 * length, whatever the client chose), so the same message sent again keeps it; otherwise a new one.
 */
export function outgoingLinkId(originId: string | undefined, newId: () => string): string {
  return originId === undefined ? newId() : `o-${createHash('sha256').update(originId).digest('base64url').slice(0, 32)}`;
}
