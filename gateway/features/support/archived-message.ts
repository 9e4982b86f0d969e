// How an archived message looks to the user, live and in archive results alike (XEP-0359, XEP-0313):
// the same body text and the same stanza-id, so clients recognise one message in both.
import type { XmppIdentity } from '../../xmpp/feature.js';
import { SID_NS } from '../../xmpp/stanza.js';
import { x, type Element } from '../../xmpp/xml/element.js';

const TRUNCATED_MARK = ' [message cut: longer than the link limit]';

/** The body a user reads: the text, marked when the link limit cut it. */
export function shownText(text: string, truncated: boolean): string {
  return truncated ? text + TRUNCATED_MARK : text;
}

/**
 * `<stanza-id by='<user bare JID>'/>` for a message the archive holds (none for one it does not, and none
 * as a component: the user's own server keeps their archive and gives the ids).
 */
export function archiveIds(identity: XmppIdentity, stanzaId: string | undefined): Element[] {
  if (stanzaId === undefined || identity.component) return [];
  return [x('stanza-id', { xmlns: SID_NS, by: identity.user.bare().toString(), id: stanzaId })];
}
