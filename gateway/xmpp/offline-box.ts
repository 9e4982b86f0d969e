// Where stanzas for a user with no session online wait for their next login: in the store, so a
// restart of the gateway loses none (messages from peers, the gateway's notices); in memory for tests.
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { parseFramedElement } from './xml/parser.js';
import type { Element } from './xml/element.js';

/** Kept per user; beyond this the oldest go first, and the user is told how many. */
export const OFFLINE_LIMIT = 500;

export interface OfflineBox {
  /** Keeps a stanza for the next login; returns how many older ones were dropped to make room. */
  keep(stanza: Element): number;
  /** Everything kept, oldest first, handed out once. */
  takeAll(): Element[];
  /** How many were dropped to make room since the last call (whoever kept them), and resets it. */
  takeDropped(): number;
  /** How many it keeps (c2s.offline_messages). */
  readonly limit: number;
}

export function memoryOfflineBox(limit = OFFLINE_LIMIT): OfflineBox {
  const kept: Element[] = [];
  let dropped = 0;
  return {
    limit,
    keep(stanza) {
      kept.push(stanza);
      const n = kept.length > limit ? kept.splice(0, kept.length - limit).length : 0;
      dropped += n;
      return n;
    },
    takeAll: () => kept.splice(0),
    takeDropped: () => {
      const n = dropped;
      dropped = 0;
      return n;
    },
  };
}

/** The account's box in the store (table `undelivered`). */
export function storeOfflineBox(store: Pick<Store, 'undelivered'>, accountId: number, log: Logger, limit = OFFLINE_LIMIT): OfflineBox {
  return {
    limit,
    keep: (stanza) => store.undelivered.keep(accountId, stanza.toString(), limit),
    takeDropped: () => store.undelivered.takeDropped(accountId),
    takeAll() {
      const out: Element[] = [];
      for (const xml of store.undelivered.take(accountId)) {
        try {
          const el = parseFramedElement(xml);
          // Stored without a namespace (the stream's default): parsing alone gives it an empty one.
          if (el.attrs.xmlns === '') delete el.attrs.xmlns;
          out.push(el);
        } catch (err) {
          log.error({ err }, 'a stored message for the user could not be read back; skipped');
        }
      }
      return out;
    },
  };
}
