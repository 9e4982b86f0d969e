// Added rooms as bookmarks (XEP-0402, and XEP-0048 for older clients) with autojoin, before a client fetches its
// bookmarks after login: Gajim, Dino, Conversations and Pidgin's plugins then rejoin by themselves. A room added
// while clients are online is pushed to them at once (PEP notifications), and a removed room's bookmark goes (its
// JID no longer answers). In the transport mode the bookmarks live on the user's own server: published there where
// it lets us (XEP-0356 iq permission on pubsub), once per room (our own copy records which), when the user comes
// online or the room is added, and retracted there when it is removed; that server tells their clients.
import type { Room, RoomNetwork } from '../../bridge/contract.js';
import type { FeatureContext } from '../../xmpp/feature.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { BOOKMARKS, bookmarkPublish, bookmarkRetract, ensureBookmark, legacyItem } from './bookmarks.js';
import { pepEvents } from './pep-events.js';
import { privilegedIq } from './privileged-iq.js';
import { itemElement } from './pubsub.js';

/** The user's server, where their bookmarks are in the transport mode: whether it lets us publish there, and the way to it. */
export interface ServerBookmarks {
  allowed: () => boolean;
  send: (stanza: Element) => boolean;
}

export function bookmarkAddedRooms(ctx: FeatureContext, rooms: RoomNetwork, service: string, server: ServerBookmarks | undefined): void {
  const user = ctx.identity.user.bare().toString();
  const data = ctx.userData;
  const events = pepEvents(ctx);
  const toServer = (payload: Element): void => void server?.send(privilegedIq(ctx.identity.domain, user, 'set', payload));

  /** Bookmarks `room` unless the user has it: its JID when it was added (and, in the transport mode, sent). */
  const bookmark = (room: Room): string | undefined => {
    const jid = `${room.name}@${service}`;
    const fields = { name: room.name, nick: ctx.identity.user.local ?? 'me', autojoin: true };
    try {
      if (!ensureBookmark(data, jid, fields, user)) return undefined;
      if (server) toServer(bookmarkPublish(jid, fields));
      return jid;
    } catch (err) {
      ctx.log.warn({ err, room: room.name }, 'room not bookmarked');
      return undefined;
    }
  };

  /** Our own clients hear of a change of the native list, and legacy (XEP-0048 over PEP) readers get the new list. */
  const tell = (change: Element): void => {
    const legacy = legacyItem(data);
    const sent = [events.notify(BOOKMARKS.native, x('items', { node: BOOKMARKS.native }, change))];
    if (legacy) sent.push(events.notify(BOOKMARKS.legacy, x('items', { node: BOOKMARKS.legacy }, legacy)));
    // Not awaited: learning a client's caps may wait on that very client.
    Promise.all(sent).catch((err: unknown) => ctx.log.error({ err }, 'bookmark notification failed'));
  };

  const bookmarkRooms = (): void => {
    if (server && !server.allowed()) return;
    for (const room of rooms.list()) bookmark(room);
  };
  ctx.on('session-bound', bookmarkRooms);
  if (server) ctx.on('initial-presence', bookmarkRooms);

  rooms.watch?.((change) => {
    if (server && !server.allowed()) return;
    if ('added' in change) {
      const jid = bookmark(change.added);
      const item = jid === undefined ? undefined : data.items(BOOKMARKS.native, { ids: [jid] })[0];
      if (item && !server) tell(itemElement(item));
      return;
    }
    const jid = `${change.removed}@${service}`;
    if (!data.node(BOOKMARKS.native) || !data.retract(BOOKMARKS.native, jid)) return;
    if (server) toServer(bookmarkRetract(jid));
    else tell(x('retract', { id: jid }));
  });
}
