// What the bridge writes to the account's history (XEP-0313 archive): every message in and out the user's
// preferences want kept, each with the stable id (XEP-0359 stanza-id) the XMPP side delivers it with.
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

}
