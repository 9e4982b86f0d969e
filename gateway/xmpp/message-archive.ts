// The account's message history as XMPP features read it (XEP-0313 queries, XEP-0441 preferences): the
// store's archive, bound to one account. The bridge writes it (gateway/bridge/history.ts).
import type { ArchiveEntry, ArchivePage, ArchivePrefs, ArchiveQuery, Store } from '../store/index.js';

export interface MessageArchive {
  /** One page; throws StoreError 'unknown-id' for an id the archive does not hold. */
  query(q: ArchiveQuery): ArchivePage;
  /** The oldest and newest entries (none when the archive is empty). */
  ends(): { first?: ArchiveEntry; last?: ArchiveEntry };
  prefs(): ArchivePrefs;
  setPrefs(prefs: ArchivePrefs): ArchivePrefs;
}

export function storeMessageArchive(store: Pick<Store, 'archive'>, accountId: number): MessageArchive {
  const { archive } = store;
  return {
    query: (q) => archive.query(accountId, q),
    ends: () => archive.ends(accountId),
    prefs: () => archive.prefs(accountId),
    setPrefs: (p) => archive.setPrefs(accountId, p),
  };
}
