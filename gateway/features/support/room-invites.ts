// Inviting a contact into a room (XEP-0045 §7.8.2, a mediated invitation, or XEP-0249's direct one that Gajim, Dino and
// Conversations send to the contact itself): the peer gets one line with the room's share
// string, which a reference member dials (gnutls-cli, ncat --ssl) and a gateway user adds (room add). Into a room
// we host, the invitation is also the way in: the peer is let in under an alias (members-only rooms included).
import type { PeerNetwork } from '../../bridge/contract.js';
import { formatShareString, parseAddress } from '../../bridge/share-string.js';
import { StanzaError } from '../../xmpp/errors.js';
import type { Element } from '../../xmpp/xml/element.js';

/** XEP-0249's namespace: `<x xmlns='jabber:x:conference' jid='room@service' reason='…'/>` in a message to the invitee. */
export const DIRECT_INVITE_NS = 'jabber:x:conference';

/** The room a direct invitation names, when it is one of ours (`<room>@<our conference service>`). */
export function directInvitation(stanza: Element, service: string | undefined): { room: string; reason?: string } | undefined {
  const x = stanza.getChild('x', DIRECT_INVITE_NS);
  if (!x) return undefined;
  const m = /^([^@/]+)@([^/]+)$/.exec(x.attr('jid') ?? '');
  if (!m || !service || m[2]!.toLowerCase() !== service) throw new StanzaError('item-not-found', `only rooms of ${service ?? 'this gateway'} can be given to a tlsim contact`);
  const reason = x.attr('reason');
  return { room: m[1]!.toLowerCase(), ...(reason && { reason }) };
}

export interface Invitation {
  room: string;
  /** The invited contact's fingerprint. */
  fingerprint: string;
  /** Who invites (the user's nick in the room, or their account name). */
  from: string;
  reason?: string;
}

/** Sends the invitation; resolves with the line the peer got. */
export async function inviteToRoom(network: PeerNetwork, inv: Invitation): Promise<string> {
  const rooms = network.rooms;
  const room = rooms?.get(inv.room);
  if (!rooms || !room) throw new StanzaError('item-not-found', `no room named ${inv.room}`);
  const contact = network.getContact(inv.fingerprint);
  if (!contact || contact.state !== 'contact') throw new StanzaError('item-not-found', 'only a contact can be invited: add the peer first');
  const hosted = rooms.hosting?.get(room.name);
  let share: string;
  let as = '';
  if (hosted) {
    const entry = rooms.hosting!.invite(room.name, contact.id, contact.name);
    if (!entry.share) throw new StanzaError('recipient-unavailable', 'the room is not listening yet');
    share = entry.share;
    as = ` (you are "${entry.alias}" there)`;
  } else {
    share = formatShareString({ fingerprint: room.fingerprint, ...parseAddress(room.address) });
  }
  const why = inv.reason?.trim() ? `: ${inv.reason.trim().replace(/\s+/g, ' ').slice(0, 200)}` : '';
  const line = `${inv.from} invites you to the chat room "${room.name}"${why}. Join it with its share string ${share}${as}.`;
  await network.sendText(contact.id, line);
  return line;
}
