// Message Carbons: every carbons-enabled session of the user sees the whole conversation, what
// reached another session (<received/>) and what another session sent (<sent/>).
// XEP-0280 v1.0 (urn:xmpp:carbons:2; §6 which messages; §7 <private/>), XEP-0297 (forwarding),
// XEP-0334 (<no-copy/>). The core tells us through the 'message-delivered' and 'message-sent' hooks.
import type { Feature } from '../xmpp/feature.js';
import type { SessionInfo } from '../xmpp/hooks.js';
import { x, type Element } from '../xmpp/xml/element.js';

export const CARBONS_NS = 'urn:xmpp:carbons:2';
/** We follow the eligibility rules of XEP-0280 v0.13 and later. */
const RULES_NS = 'urn:xmpp:carbons:rules:0';
const FORWARD_NS = 'urn:xmpp:forward:0';
const HINTS_NS = 'urn:xmpp:hints';
const CLIENT_NS = 'jabber:client';

export const carbons: Feature = {
  name: 'carbons',
  // §4: clients look for it on the server (Conversations, Gajim, Dino, Profanity).
  disco: { server: [CARBONS_NS, RULES_NS] },
  setup(ctx) {
    const user = ctx.identity.user.toString();
    // Per session, for its lifetime (a resumed XEP-0198 session keeps it).
    const enabled = new WeakSet<SessionInfo>();
    // Who got a received carbon of a message, while the message lives (a dead session's unacked queue).
    const copiedTo = new WeakMap<Element, SessionInfo[]>();
    // §5: addressed to the user's own account; some clients write the server's domain.
    for (const kind of ['account', 'server'] as const) {
      ctx.iq(kind, 'set', CARBONS_NS, 'enable', (req) => void enabled.add(req.session));
      ctx.iq(kind, 'set', CARBONS_NS, 'disable', (req) => void enabled.delete(req.session));
    }

    /** Copies `stanza` to every carbons-enabled available session not in `skip`; returns those. */
    const copy = (direction: 'received' | 'sent', stanza: Element, skip: readonly SessionInfo[]): SessionInfo[] => {
      const to: SessionInfo[] = [];
      for (const s of ctx.sessions()) {
        if (!s.available || !enabled.has(s) || skip.includes(s)) continue;
        const inner = stanza.clone();
        inner.attrs.xmlns = CLIENT_NS;
        // §6: from the user's bare JID (clients drop carbons from anyone else), same type as the original.
        s.send(
          x(
            'message',
            { from: user, to: s.jid.toString(), type: stanza.attrs.type },
            x(direction, { xmlns: CARBONS_NS }, x('forwarded', { xmlns: FORWARD_NS }, inner)),
          ),
        );
        to.push(s);
      }
      return to;
    };

    // A message for the user: the sessions that did not get it see it as received.
    ctx.on('message-delivered', (stanza, sessions) => {
      if (!eligible(stanza)) return;
      const to = copy('received', stanza, sessions);
      if (to.length > 0) copiedTo.set(stanza, to);
    });

    // A session died before acknowledging a message others have as a carbon: handing it over would show it twice.
    ctx.on('message-handover', (stanza, holders) => {
      const live = ctx.sessions();
      for (const s of copiedTo.get(stanza) ?? []) if (s.available && live.includes(s)) holders.add(s);
    });

    // A message the user sent: their other sessions see it as sent.
    ctx.on('message-sent', (session, stanza) => {
      const hint = stanza.getChild('private', CARBONS_NS);
      if (hint) {
        // §7: not copied, and the hint is for us only: it does not go on.
        stanza.children.splice(stanza.children.indexOf(hint), 1);
        return;
      }
      if (eligible(stanza)) copy('sent', stanza, [session]);
    });
  },
};

/**
 * §6: chat messages (chat states, receipts and markers included) and normal messages with a
 * body; never errors, group chat or headlines, nothing marked private or no-copy, no carbon of a carbon.
 */
function eligible(stanza: Element): boolean {
  if (stanza.getChild('private', CARBONS_NS) || stanza.getChild('no-copy', HINTS_NS)) return false;
  if (stanza.getChild('received', CARBONS_NS) || stanza.getChild('sent', CARBONS_NS)) return false;
  const type = stanza.attrs.type ?? 'normal';
  return type === 'chat' || (type === 'normal' && stanza.getChild('body') !== undefined);
}
