// Parsed JIDs of the few addresses one user's stanzas name (the user's own JIDs, a handful of peers), so routing
// does not parse and XEP-0106-check the same address again for every stanza. Pure: no sockets, timers or logging.
import type { JID } from '@xmpp/jid';

/** Addresses kept; past this the cache starts again empty (a client naming ever new addresses pays a parse each, as before). */
export const MAX_CACHED_JIDS = 256;

export class JidCache {
  private readonly parsed = new Map<string, JID>();

  constructor(
    /** Parses one address, throwing when it is malformed; a throw is never cached. */
    private readonly parse: (address: string) => JID,
    private readonly max = MAX_CACHED_JIDS,
  ) {}

  /** The address parsed, shared by every caller: frozen, so a caller that would change it throws instead. */
  get(address: string): JID {
    let j = this.parsed.get(address);
    if (j) return j;
    j = Object.freeze(this.parse(address));
    if (this.parsed.size >= this.max) this.parsed.clear();
    this.parsed.set(address, j);
    return j;
  }

  get size(): number {
    return this.parsed.size;
  }
}
