// What one of the user's own clients supports: its disco#info features (XEP-0030), learned once per XEP-0115 caps
// node#ver (the same answer for every client that sends it) or, from a client without caps, once per session. PEP
// notifications (pep-events.ts) and file offers (xep-0096-si-file-offer.ts) read it; there is no second cache.
import type { FeatureContext } from '../../xmpp/feature.js';
import type { SessionInfo } from '../../xmpp/hooks.js';
import { x } from '../../xmpp/xml/element.js';
import { NS } from './ns.js';

/** Caps answers remembered (one per client version, so a handful in practice). */
const MAX_CAPS_KEPT = 128;
/** A client that does not answer our disco#info in this time is taken as "did not say" for now. */
export const CLIENT_QUERY_TIMEOUT_MS = 10_000;

/** The client's features; undefined when it did not say (an error answer, or no answer in time). */
export type ClientFeatureSet = ReadonlySet<string> | undefined;

export interface ClientFeatures {
  /** By its caps (asked once per node#ver); undefined without caps, as when it did not say. */
  byCaps(session: SessionInfo): Promise<ClientFeatureSet>;
  /** By its caps, or else by a disco#info to its full JID (once per session). */
  of(session: SessionInfo): Promise<ClientFeatureSet>;
}

export function clientFeatures(ctx: Pick<FeatureContext, 'request' | 'identity' | 'log'>): ClientFeatures {
  const user = ctx.identity.user.toString();
  const byCaps = new Map<string, Promise<ClientFeatureSet>>();
  // Per session object: gone with the session, so it needs no bound of its own.
  const bySession = new WeakMap<SessionInfo, Promise<ClientFeatureSet>>();

  const ask = async (session: SessionInfo, node: string | undefined): Promise<ClientFeatureSet> => {
    const reply = await ctx.request(session, x('iq', { type: 'get', from: user }, x('query', { xmlns: NS.discoInfo, node })), CLIENT_QUERY_TIMEOUT_MS);
    const query = reply.attrs.type === 'result' ? reply.getChild('query', NS.discoInfo) : undefined;
    // A client that answers with an error will answer so again: remembered as "did not say".
    if (!query) return undefined;
    return new Set(query.getChildren('feature').flatMap((f) => f.attr('var') ?? []));
  };

  /** Remembered in `cache` under `key`; a query that got no answer is not, so the next use asks again. */
  const remember = <K>(cache: { get(k: K): Promise<ClientFeatureSet> | undefined; set(k: K, v: Promise<ClientFeatureSet>): unknown; delete(k: K): unknown }, key: K, query: () => Promise<ClientFeatureSet>): Promise<ClientFeatureSet> => {
    let known = cache.get(key);
    if (!known) {
      known = query();
      cache.set(key, known);
      known.catch((err: unknown) => {
        cache.delete(key);
        ctx.log.debug({ err }, 'client features unknown');
      });
    }
    return known.catch(() => undefined);
  };

  const capsKey = (session: SessionInfo): string | undefined => {
    const c = session.presence?.getChild('c', NS.caps);
    const node = c?.attr('node');
    const ver = c?.attr('ver');
    return node && ver ? `${node}#${ver}` : undefined;
  };

  const ofCaps = (session: SessionInfo): Promise<ClientFeatureSet> => {
    const key = capsKey(session);
    if (!key) return Promise.resolve(undefined);
    const known = remember(byCaps, key, () => ask(session, key));
    if (byCaps.size > MAX_CAPS_KEPT) byCaps.delete(byCaps.keys().next().value!);
    return known;
  };

  return {
    byCaps: ofCaps,
    of: (session) => (capsKey(session) ? ofCaps(session) : remember(bySession, session, () => ask(session, undefined))),
  };
}
