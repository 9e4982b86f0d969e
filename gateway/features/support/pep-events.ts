// PEP notifications to the user's own clients (XEP-0163 §4.3, XEP-0060 §7.1.2.1): each available
// client gets the nodes its entity capabilities list as "<node>+notify" (XEP-0163 §4.2, XEP-0115);
// a client without caps, or whose caps we could not learn, gets every node's live events (but
// no last items at login: it named none, and they include avatars and OMEMO keys).
import { randomUUID } from 'node:crypto';
import type { FeatureContext } from '../../xmpp/feature.js';
import type { SessionInfo } from '../../xmpp/hooks.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { clientFeatures } from './client-features.js';
import { PUBSUB } from './pubsub.js';

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
  const features = clientFeatures(ctx);

  // A client without caps, or whose caps we could not learn, did not say: it gets every node.
  const interestOf = async (session: SessionInfo): Promise<Interest> => {
    const known = await features.byCaps(session);
    if (!known) return 'all';
    return new Set([...known].filter((v) => v.endsWith('+notify')).map((v) => v.slice(0, -'+notify'.length)));
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
