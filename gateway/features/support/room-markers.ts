// XEP-0333 chat markers in rooms with the room extension (docs/rooms.md "Between gateways"): what a client's
// groupchat marker names (XEP-0333 §"Usage within MUC": the room's XEP-0359 stanza-id), and the marker as the
// occupants read it, a groupchat message from the occupant that marked, carrying the marker alone.
import type { RoomMarkerKind } from '../../bridge/contract.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { markersOf } from './message-meta.js';
import { NS } from './ns.js';

/** The marker a client's message to a room carries, if any (a XEP-0184 receipt is nothing a room relays). */
export function roomMarkerOf(stanza: Element): { marker: RoomMarkerKind; id: string } | undefined {
  const found = markersOf(stanza).find((m) => m.marker !== 'receipt');
  return found && { marker: found.marker as RoomMarkerKind, id: found.id };
}

/** The marker as an occupant's groupchat message (XEP-0333 §"Usage within MUC": only the marker, no body). */
export function roomMarkerStanza(from: string, to: string, id: string, m: { marker: RoomMarkerKind; id: string }): Element {
  return x('message', { type: 'groupchat', from, to, id }, x(m.marker, { xmlns: NS.chatMarkers, id: m.id }));
}

/** Members whose latest markers a room keeps at most (the room holds 50; members who left count until forgotten). */
const MAX_MARKING_MEMBERS = 200;

/**
 * The latest marker of each kind by each member (ourselves included), while the room is open on this gateway: a
 * client that joins later reads them after the history, so it shows how far the others have read, as one in the
 * room all along does. The member that marked longest ago is forgotten first.
 */
export class LatestRoomMarks {
  private readonly byNick = new Map<string, Map<RoomMarkerKind, string>>();

  note(nick: string, m: { marker: RoomMarkerKind; id: string }): void {
    const kinds = this.byNick.get(nick) ?? new Map<RoomMarkerKind, string>();
    this.byNick.delete(nick);
    kinds.set(m.marker, m.id);
    this.byNick.set(nick, kinds);
    if (this.byNick.size > MAX_MARKING_MEMBERS) this.byNick.delete(this.byNick.keys().next().value!);
  }

  /** Oldest marking member first. */
  *latest(): Iterable<{ nick: string; marker: RoomMarkerKind; id: string }> {
    for (const [nick, kinds] of this.byNick) for (const [marker, id] of kinds) yield { nick, marker, id };
  }
}
