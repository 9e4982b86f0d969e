// Added rooms as bookmarks (XEP-0402, and XEP-0048 for older clients) with autojoin, before a client fetches its
// bookmarks after login: Gajim, Dino, Conversations and Pidgin's plugins then rejoin by themselves. In the transport
// mode the bookmarks live on the user's own server: published there where it lets us (XEP-0356 iq permission on
// pubsub), once per room (our own copy records which), when the user comes online.
import type { RoomNetwork } from '../../bridge/contract.js';
import type { FeatureContext } from '../../xmpp/feature.js';
import type { Element } from '../../xmpp/xml/element.js';
import { bookmarkPublish, ensureBookmark } from './bookmarks.js';
import { privilegedIq } from './privileged-iq.js';

/** The user's server, where their bookmarks are in the transport mode: whether it lets us publish there, and the way to it. */
export interface ServerBookmarks {
  allowed: () => boolean;
  send: (stanza: Element) => boolean;
}

export function bookmarkAddedRooms(ctx: FeatureContext, rooms: RoomNetwork, service: string, server: ServerBookmarks | undefined): void {
  const bookmarkRooms = (): void => {
    if (server && !server.allowed()) return;
    const user = ctx.identity.user.bare().toString();
    for (const room of rooms.list()) {
      const jid = `${room.name}@${service}`;
      const fields = { name: room.name, nick: ctx.identity.user.local ?? 'me', autojoin: true };
      try {
        if (ensureBookmark(ctx.userData, jid, fields, user) && server) server.send(privilegedIq(ctx.identity.domain, user, 'set', bookmarkPublish(jid, fields)));
      } catch (err) {
        ctx.log.warn({ err, room: room.name }, 'room not bookmarked');
      }
    }
  };
  ctx.on('session-bound', bookmarkRooms);
  if (server) ctx.on('initial-presence', bookmarkRooms);
}
