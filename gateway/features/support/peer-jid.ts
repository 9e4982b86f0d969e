// JID ⇄ peer mapping: a peer is `<fingerprint>@<peer domain>`, shown with one fixed resource.
import { parse, type JID } from '@xmpp/jid';
import type { PeerId } from '../../bridge/contract.js';
import { isFingerprint } from '../../bridge/share-string.js';
import type { XmppIdentity } from '../../xmpp/feature.js';

/**
 * The one resource every contact is shown with. A fixed resource (as Spectrum's `/bot`)
 * lets clients attach caps and chat-state support to a stable full JID: presence,
 * messages and chat states all come from `<fp>@<peer domain>/tlsim`, and the
 * unavailable presence from the same full JID, so no client keeps a stale resource.
 */
export const CONTACT_RESOURCE = 'tlsim';

export function peerBareJid(identity: XmppIdentity, id: PeerId): string {
  return `${id}@${identity.peerDomain}`;
}

export function peerFullJid(identity: XmppIdentity, id: PeerId): string {
  return `${id}@${identity.peerDomain}/${CONTACT_RESOURCE}`;
}

/** The JID in an attribute (roster item, blocklist item), or undefined when it does not parse. */
export function parseJid(s: string | undefined): JID | undefined {
  if (!s) return undefined;
  try {
    return parse(s);
  } catch {
    return undefined;
  }
}

/**
 * The peer a JID names, or undefined when it is not `<fingerprint>@<peer domain>`.
 * JID localparts and domains are case-insensitive, so an upper-case fingerprint is the same peer.
 */
export function peerIdOf(identity: XmppIdentity, jid: JID | string | undefined): PeerId | undefined {
  const j = typeof jid === 'string' ? parseJid(jid) : jid;
  if (!j || j.domain !== identity.peerDomain.toLowerCase()) return undefined;
  return isFingerprint(j.local) ? j.local : undefined;
}
