// PEP notifications to the user's own clients (XEP-0163 §4.3, XEP-0060 §7.1.2.1): each available
// client gets the nodes its entity capabilities list as "<node>+notify" (XEP-0163 §4.2, XEP-0115);
// a client without caps, or whose caps we could not learn, gets every node's live events (but
// no last items at login: it named none, and they include avatars and OMEMO keys).
import { randomUUID } from 'node:crypto';
import type { FeatureContext } from '../../xmpp/feature.js';
import type { SessionInfo } from '../../xmpp/hooks.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from './ns.js';
import { PUBSUB } from './pubsub.js';

/** Caps answers remembered (one per client version, so a handful in practice). */
const MAX_CAPS_KEPT = 128;
/** A client that does not answer our disco#info in this time gets every node meanwhile. */
const CAPS_QUERY_TIMEOUT_MS = 10_000;

/** Nodes a client wants notifications for; 'all' when it did not say. */
type Interest = ReadonlySet<string> | 'all';

export interface PepEvents {
  /** Learns what the session wants (asking the client once per caps version), ahead of notifications. */
  learn(session: SessionInfo): Promise<void>;
  /** Whether this session should get notifications of `node`; `explicit`: only if its caps name the node. */
  wants(session: SessionInfo, node: string, explicit?: boolean): Promise<boolean>;
  /** Sends `<event>` with `child` (`<items/>`, `<delete/>`, `<purge/>`) to every available session that wants `node`. */
  notify(node: string, child: Element): Promise<void>;
  /** The same event, to one session, if it wants `node` (`explicit`: as in wants). */
  notifyOne(session: SessionInfo, node: string, child: Element, explicit?: boolean): Promise<void>;
}

export function pepEvents(ctx: FeatureContext): PepEvents {
  const user = ctx.identity.user.toString();
  const byCaps = new Map<string, Promise<Interest>>();

  const ask = async (session: SessionInfo, capsNode: string): Promise<Interest> => {
    const reply = await ctx.request(session, x('iq', { type: 'get', from: user }, x('query', { xmlns: NS.discoInfo, node: capsNode })), CAPS_QUERY_TIMEOUT_MS);
    const query = reply.attrs.type === 'result' ? reply.getChild('query', NS.discoInfo) : undefined;
    // A client that answers with an error will answer so again: remembered as "did not say".
    if (!query) return 'all';
    const nodes = new Set<string>();
    for (const f of query.getChildren('feature')) {
      const v = f.attr('var');
      if (v?.endsWith('+notify')) nodes.add(v.slice(0, -'+notify'.length));
    }
    return nodes;
  };

  const interestOf = async (session: SessionInfo): Promise<Interest> => {
    const c = session.presence?.getChild('c', NS.caps);
    const node = c?.attr('node');
    const ver = c?.attr('ver');
    if (!node || !ver) return 'all';
    // XEP-0115 §6.2: the disco#info of <node>#<ver> is the same for every client that sends it.
    const key = `${node}#${ver}`;
    let known = byCaps.get(key);
    if (!known) {
      known = ask(session, key);
      byCaps.set(key, known);
      if (byCaps.size > MAX_CAPS_KEPT) byCaps.delete(byCaps.keys().next().value!);
      // A query that got no answer is not remembered: the next notification asks again.
      known.catch((err: unknown) => {
        byCaps.delete(key);
        ctx.log.debug({ err, caps: key }, 'client caps unknown; it gets every PEP node');
      });
    }
    return known.catch((): Interest => 'all');
  };

  const wants = async (session: SessionInfo, node: string, explicit = false): Promise<boolean> => {
    const interest = await interestOf(session);
    return interest === 'all' ? !explicit : interest.has(node);
  };

  const eventFor = (session: SessionInfo, child: Element): Element =>
    // Headline: a notification, not a chat message to keep (XEP-0060 §12.7; Prosody does the same).
    x('message', { from: user, to: session.jid.toString(), type: 'headline', id: randomUUID() }, x('event', { xmlns: PUBSUB.event }, child.clone()));

  const notifyOne = async (session: SessionInfo, node: string, child: Element, explicit = false): Promise<void> => {
    if (session.available && (await wants(session, node, explicit))) session.send(eventFor(session, child));
  };

  return {
    learn: async (session) => void (await interestOf(session)),
    wants,
    notifyOne,
    notify: async (node, child) => {
      await Promise.all(ctx.sessions().map((s) => notifyOne(s, node, child)));
    },
  };
}
