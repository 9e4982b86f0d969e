// Reference chat rooms (TLSd's sample chat, docs/rooms.md) as multi-user chat rooms under conference.<domain>
// (as a component: beside the peers, <room>@<component domain>; the same code, per user).
// XEP-0045 (join §7.2, self-presence codes 110/210 §7.2.3, subject §7.2.15, groupchat §7.4, leave §7.14);
// XEP-0203 delay for lines whose room stamp differs from now. The reference room has no history and no list; a
// room a gateway hosts (the room extension) gives the occupant list, history on join (subject after it, §7.2.15),
// XEP-0359 stanza-ids by the room, our own messages echoed once, and an archive (XEP-0313 on the room JID).
// Every client joining such a room, the first or another resource of the account, reads its history from what the
// gateway keeps (archive.history), within the limits it asked for (§7.2.14, support/muc-history.ts). In such a room
// XEP-0333 markers of the room's messages go to the room and come from the other members' occupants
// (support/room-markers.ts).
import { randomUUID } from 'node:crypto';
import type { RoomArchiveEntry, RoomEvent, RoomMarkerKind, RoomSession } from '../bridge/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import { conferenceDomain, type Feature } from '../xmpp/feature.js';
import type { SessionInfo } from '../xmpp/hooks.js';
import { errorReply, SID_NS } from '../xmpp/stanza.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { discoInfoQuery, roomItems } from './xep-0030-disco.js';
import { Occupants } from './support/muc-occupants.js';
import { NS } from './support/ns.js';
import { peerIdOf } from './support/peer-jid.js';
import { bookmarkAddedRooms, type ServerBookmarks } from './support/room-bookmarks.js';
import { fitChars, historyRequest, MAX_MUC_HISTORY, type HistoryRequest } from './support/muc-history.js';
import { inviteToRoom } from './support/room-invites.js';
import { LatestRoomMarks, roomMarkerOf, roomMarkerStanza } from './support/room-markers.js';

export const MUC_NS = {
  muc: 'http://jabber.org/protocol/muc',
  user: 'http://jabber.org/protocol/muc#user',
  roominfo: 'http://jabber.org/protocol/muc#roominfo',
  data: 'jabber:x:data',
  /** XEP-0410 §5: the service answers a client's ping of its own occupant JID itself. */
  selfPing: 'http://jabber.org/protocol/muc#self-ping-optimization',
} as const;

/** What the rooms' disco#info says about them: the reference room is open, semi-anonymous, without history. */
const ROOM_FEATURES = [MUC_NS.muc, MUC_NS.selfPing, 'muc_open', 'muc_semianonymous', 'muc_unmoderated', 'muc_persistent', 'muc_public', 'muc_unsecured', NS.discoInfo];
const NO_HISTORY = 'a tlsd reference room: it keeps no history (you read what is said while you are in) and lists nobody (members appear when they join, speak or leave)';
const HOSTED = 'a room this gateway hosts (reference members join it as tlsd-chat): when you come in you read who is there and the last lines said';
const EXTENDED = 'a room another gateway hosts: when you come in you read who is there and the last messages said (this gateway keeps them: MAM on the room JID)';
/** What a room is, in words: one the gateway hosts, one another gateway hosts (the extension), or a reference room. */
const describe = (hosted: boolean, extended: boolean): string => (hosted ? HOSTED : extended ? EXTENDED : NO_HISTORY);

interface Resource {
  session: SessionInfo;
  /** The nick the client asked for. */
  asked: string;
  /** Self-presence sent (the client counts itself in). */
  inRoom: boolean;
  /** The subject sent: the end of the history on join. */
  subjectSent: boolean;
  /** The history it asked for on joining (§7.2.14). */
  history: HistoryRequest;
}

interface OpenRoom {
  name: string;
  jid: string;
  link: RoomSession;
  resources: Map<string, Resource>;
  occupants: Occupants;
  joined: boolean;
  /** Joined at least once: a later failure is a drop, retried while anyone is in. */
  everJoined: boolean;
  /** Our clients' XEP-0359 origin-ids by message id, until the room's echo reflects them (bounded). */
  originIds: Map<string, string>;
  /** The members' latest markers, for clients that join later. */
  marks: LatestRoomMarks;
}

const MAX_PENDING_ORIGIN_IDS = 1_000;

/** What the transport mode tells this feature (featureConfig.muc). */
interface MucConfig {
  serverBookmarks?: ServerBookmarks;
}

export const muc: Feature = {
  name: 'muc',
  setup(ctx) {
    const service = conferenceDomain(ctx.identity);
    const rooms = ctx.network.rooms;
    if (!rooms) return;
    const open = new Map<string, OpenRoom>();

    ctx.iq('conference', 'get', NS.discoInfo, 'query', (req) => {
      if (req.payload.attr('node') !== undefined) throw new StanzaError('item-not-found', 'no such node');
      return discoInfoQuery([{ category: 'conference', type: 'text', name: 'tlsim chat rooms' }], [MUC_NS.muc, NS.discoInfo, NS.discoItems]);
    });
    ctx.iq('conference', 'get', NS.discoItems, 'query', () => x('query', { xmlns: NS.discoItems }, ...roomItems(rooms, service)));
    ctx.iq('room', 'get', NS.discoInfo, 'query', (req) => {
      const room = req.to.kind === 'room' && req.to.nick === undefined ? rooms.get(req.to.room) : undefined;
      if (!room) throw new StanzaError('item-not-found', 'no such room: add it with room add <share-string> <name>');
      // MAM on the room only where it holds: a room with the extension whose messages we keep.
      const archived = rooms.archive?.holds(room.name) === true;
      const hosted = Boolean(rooms.hosting?.get(room.name));
      // XEP-0359 where the room gives ids (the extension): XEP-0333 §"Usage within MUC" markers then name them.
      const info = discoInfoQuery([{ category: 'conference', type: 'text', name: room.name }], [...ROOM_FEATURES, ...(archived ? [NS.mam] : []), ...(archived || hosted ? [SID_NS] : [])]);
      return info.append(
        x('x', { xmlns: MUC_NS.data, type: 'result' },
          x('field', { var: 'FORM_TYPE', type: 'hidden' }, x('value', null, MUC_NS.roominfo)),
          x('field', { var: 'muc#roominfo_description', label: 'Description' }, x('value', null, `${describe(hosted, archived)}; at ${room.address}, fingerprint ${room.fingerprint}`)),
          x('field', { var: 'muc#maxhistoryfetch', label: 'History' }, x('value', null, String(hosted || archived ? MAX_MUC_HISTORY : 0))),
        ),
      );
    });

    ctx.presence('room', (req) => {
      if (req.to.kind !== 'room') return;
      const full = req.from.toString();
      const type = req.stanza.attrs.type;
      const r = open.get(req.to.room);
      if (type === 'unavailable') {
        if (r) leave(r, full, 'you left');
        return;
      }
      if (type !== undefined) return;
      if (!req.to.nick) throw new StanzaError('jid-malformed', 'join a room as room@service/nick');
      if (r?.resources.has(full)) return; // a status change: the reference room has no presence to carry it
      const room = rooms.get(req.to.room);
      if (!room) throw new StanzaError('item-not-found', `no room ${req.to.room} here: add it first (room add <share-string> ${req.to.room})`);
      const target = r ?? openRoom(room.name);
      const history = historyRequest(req.stanza.getChild('x', MUC_NS.muc), new Date());
      target.resources.set(full, { session: req.session, asked: req.to.nick, inRoom: false, subjectSent: false, history });
      if (target.joined) welcome(target, full);
    });

    // XEP-0410: a client pings its occupant JID to learn whether it is still in. After the gateway restarted (as a
    // component, the client's own server session lived on) the answer is not-acceptable, and the client joins again.
    ctx.iq('room', 'get', NS.ping, 'ping', (req) => {
      const r = req.to.kind === 'room' && req.to.nick !== undefined ? open.get(req.to.room) : undefined;
      const res = r?.resources.get(req.from.toString());
      if (!r || !res?.inRoom) throw new StanzaError('not-acceptable', 'you are not in this room: join it again');
      const self = r.occupants.self ?? res.asked;
      if (req.to.kind === 'room' && req.to.nick !== self) throw new StanzaError('feature-not-implemented', 'a reference room has nothing to send to another occupant');
    });

    ctx.message('room', async (req) => {
      if (req.to.kind !== 'room') return;
      const r = open.get(req.to.room);
      const full = req.from.toString();
      if (req.stanza.attrs.type === 'error') return;
      if (req.to.nick !== undefined) throw new StanzaError('feature-not-implemented', 'a reference room has no private messages: write to the room');
      // XEP-0045 §7.8.2: a mediated invitation, <x xmlns=muc#user><invite to=…/></x>, to a contact (a peer JID).
      const invites = req.stanza.getChild('x', MUC_NS.user)?.getChildren('invite') ?? [];
      if (invites.length > 0) {
        for (const inv of invites) {
          const to = peerIdOf(ctx.identity, inv.attr('to'));
          if (!to) throw new StanzaError('jid-malformed', `a tlsim contact is invited by its JID, <fingerprint>@${ctx.identity.peerDomain}`);
          await inviteToRoom(ctx.network, { room: req.to.room, fingerprint: to, from: r?.occupants.self ?? ctx.identity.user.local ?? 'me', reason: inv.getChildText('reason') ?? undefined });
        }
        return;
      }
      if (!r || !r.resources.has(full)) throw new StanzaError('not-acceptable', 'join the room first');
      if (req.stanza.getChild('subject')) throw new StanzaError('forbidden', 'a reference room has no subject to change');
      const body = req.stanza.getChildText('body');
      if (body === null || body === undefined) {
        const marker = roomMarkerOf(req.stanza);
        if (marker) await markRoom(r, marker);
        return; // chat states and the like: nothing for the room
      }
      // A room with the extension echoes the message with this id: the clients' reflection comes from the echo.
      const echoes = r.link.echoes;
      // The reflection carries the sender's XEP-0359 origin-id, as a MUC service's does. COMPAT(profanity):
      // Profanity knows its own line by the origin-id alone, and without it shows the line a second time.
      const originId = req.stanza.getChild('origin-id', SID_NS)?.attr('id');
      const id = req.stanza.attrs.id;
      if (echoes && originId && id) {
        if (r.originIds.size >= MAX_PENDING_ORIGIN_IDS) r.originIds.delete(r.originIds.keys().next().value!);
        r.originIds.set(id, originId);
      }
      const shown = await r.link.send(body, id);
      const self = r.occupants.self;
      if (!self || echoes) return;
      // A room without the extension never echoes: the user's clients see their own message once, from us.
      for (const res of r.resources.values()) {
        res.session.send(
          x(
            'message',
            { type: 'groupchat', id: req.stanza.attrs.id ?? randomUUID(), from: `${r.jid}/${self}`, to: res.session.jid.toString() },
            x('body', null, shown),
            ...(originId ? [x('origin-id', { xmlns: SID_NS, id: originId })] : []),
          ),
        );
      }
    });

    // Added rooms are bookmarked with autojoin before a client fetches its bookmarks (support/room-bookmarks.ts).
    bookmarkAddedRooms(ctx, rooms, service, (ctx.config as MucConfig).serverBookmarks);

    // A client that goes offline, or whose stream ends, is out of its rooms (the last one out closes the link).
    const out = (session: SessionInfo) => {
      const full = session.jid.toString();
      for (const r of [...open.values()]) if (r.resources.has(full)) leave(r, full, undefined);
    };
    ctx.on('session-closed', out);
    ctx.on('presence-broadcast', (session, stanza) => {
      if (stanza.attrs.type === 'unavailable') out(session);
    });

    function openRoom(name: string): OpenRoom {
      const jid = `${name}@${service}`;
      let r: OpenRoom;
      const nickFor = () => [...r.resources.values()][0]?.asked ?? ctx.identity.user.local ?? 'me';
      // join() reads nickFor only now: the first resource's nick is in the map by the time the link asks.
      r = { name, jid, resources: new Map(), occupants: new Occupants(), joined: false, everJoined: false, link: undefined!, originIds: new Map(), marks: new LatestRoomMarks() };
      open.set(name, r);
      queueMicrotask(() => {
        if (open.get(name) !== r) return;
        // The history the first client asked for: the room is asked for more than the default where we keep less.
        r.link = rooms!.join(name, nickFor(), {
          joined: (self) => {
            r.occupants.clear();
            r.occupants.setSelf(self.name, self.alias);
            for (const p of self.present ?? []) r.occupants.add(p.name, p.alias);
            // With the extension the history follows: the subject comes after it ('history-end').
            const subjectNow = self.present === undefined;
            const back = r.everJoined;
            r.joined = true;
            r.everJoined = true;
            for (const full of r.resources.keys()) {
              if (back) roomNotice(r, full, 'Back in the room.');
              welcome(r, full, subjectNow);
            }
          },
          event: (e) => onEvent(r, e),
          down: (info) => {
            const wasIn = r.joined;
            r.joined = false;
            for (const nick of r.occupants.others()) broadcast(r, occupantPresence(r, nick, 'unavailable'));
            r.occupants.clear();
            if (!r.everJoined || info.retryInMs === undefined) {
              // Not in (yet), or no more tries: the clients are told they are out.
              for (const [full, res] of r.resources) {
                if (res.inRoom) res.session.send(selfUnavailable(r, res, full, info.reason));
                else res.session.send(errorReply(x('presence', { to: `${r.jid}/${res.asked}` }), new StanzaError('remote-server-not-found', `cannot enter the room: ${info.reason}`), full));
              }
              close(r);
              return;
            }
            const again = `reconnecting in ${Math.max(1, Math.round(info.retryInMs / 1000))} s`;
            for (const full of r.resources.keys()) roomNotice(r, full, `${wasIn ? 'Lost the link to the room' : 'Still not back in the room'}: ${info.reason}; ${again}. Members shown again when they join or speak.`);
          },
        }, { history: [...r.resources.values()][0]?.history.maxstanzas });
      });
      return r;
    }

    /** Occupants we know, then the self-presence (codes 110, and 210 when the room named us otherwise), then the subject. */
    function welcome(r: OpenRoom, full: string, withSubject = true): void {
      const res = r.resources.get(full);
      const self = r.occupants.self;
      if (!res || !self) return;
      const to = res.session;
      for (const nick of r.occupants.others()) to.send(occupantPresence(r, nick, undefined)(full));
      const codes = [x('status', { code: '110' }), self !== res.asked && x('status', { code: '210' })];
      to.send(x('presence', { from: `${r.jid}/${self}`, to: full, id: randomUUID() }, x('x', { xmlns: MUC_NS.user }, x('item', { affiliation: 'none', role: 'participant' }), ...codes)));
      res.inRoom = true;
      if (withSubject) subject(r, full);
    }

    /** The end of the join: the history (a room with the extension; a reference room keeps none), then the subject. */
    function subject(r: OpenRoom, full: string): void {
      const res = r.resources.get(full);
      if (!res || res.subjectSent) return;
      res.subjectSent = true;
      const extended = r.link?.echoes === true;
      if (extended) history(r, full, res);
      for (const m of r.marks.latest()) res.session.send(roomMarkerStanza(`${r.jid}/${m.nick}`, full, randomUUID(), m));
      const about = describe(Boolean(rooms?.hosting?.get(r.name)), extended);
      res.session.send(x('message', { type: 'groupchat', from: r.jid, to: full, id: randomUUID() }, x('subject', null, `tlsim room ${r.name}: ${about}`)));
    }

    /** What the gateway keeps of the room, within what the client asked for (§7.2.14), stamped and with the room's ids. */
    function history(r: OpenRoom, full: string, res: Resource): void {
      const q = res.history;
      if (q.maxstanzas === 0 || q.maxchars === 0) return;
      let entries: RoomArchiveEntry[];
      try {
        entries = rooms?.archive?.history(r.name, { limit: q.maxstanzas, ...(q.since && { since: q.since }) }) ?? [];
      } catch (err) {
        ctx.log.warn({ err, room: r.name }, 'room history not read');
        return;
      }
      const stanzas = entries.map((e) => groupchat(r, full, e.nick, e.text, { stamp: e.stamp, stanzaId: e.id }));
      for (const s of fitChars(stanzas, q.maxchars)) res.session.send(s);
    }

    function groupchat(r: OpenRoom, full: string, nick: string, text: string, o: { id?: string; stamp?: Date; stanzaId?: string; originId?: string }): Element {
      return x('message', { type: 'groupchat', id: o.id ?? o.stanzaId ?? randomUUID(), from: `${r.jid}/${nick}`, to: full },
        x('body', null, text),
        o.stamp && x('delay', { xmlns: NS.delay, from: r.jid, stamp: o.stamp.toISOString() }),
        o.stanzaId !== undefined && x('stanza-id', { xmlns: SID_NS, id: o.stanzaId, by: r.jid }),
        o.originId !== undefined && x('origin-id', { xmlns: SID_NS, id: o.originId }),
      );
    }

    function onEvent(r: OpenRoom, e: RoomEvent): void {
      if (e.kind === 'notice') {
        for (const full of r.resources.keys()) roomNotice(r, full, e.text);
        return;
      }
      if (e.kind === 'marker') {
        const nick = r.occupants.nickOf(e.name) ?? e.alias;
        r.marks.note(nick, e);
        broadcast(r, (full) => roomMarkerStanza(`${r.jid}/${nick}`, full, randomUUID(), e));
        return;
      }
      if (e.kind === 'history-end') {
        for (const [full, res] of r.resources) if (res.inRoom) subject(r, full);
        return;
      }
      if (e.kind === 'message' && e.id !== undefined) {
        // The room extension: occupants come from presence alone; a message names its sender, maybe long gone.
        // Our own comes back with the id our client gave it: its reflection, once.
        const nick = e.echo !== undefined ? (r.occupants.self ?? e.alias) : (r.occupants.nickOf(e.name) ?? e.alias);
        const id = e.echo ?? e.id;
        const originId = e.echo !== undefined ? r.originIds.get(e.echo) : undefined;
        if (e.echo !== undefined) r.originIds.delete(e.echo);
        // History (stamped) reaches only clients past their join: one still joining reads it from the archive, with
        // its own limits, when its subject comes.
        broadcast(r, (full) => groupchat(r, full, nick, e.text, { id, stamp: e.stamp, stanzaId: e.id, originId }), (res) => e.stamp === undefined || res.subjectSent);
        return;
      }
      if (r.occupants.isSelf(e.name)) return;
      if (e.kind === 'quits') {
        const nick = r.occupants.remove(e.name);
        if (nick !== undefined) broadcast(r, occupantPresence(r, nick, 'unavailable'));
        return;
      }
      const { nick, added } = r.occupants.add(e.name, e.alias);
      if (added) broadcast(r, occupantPresence(r, nick, undefined));
      if (e.kind !== 'message') return;
      broadcast(r, (full) => groupchat(r, full, nick, e.text, { stamp: e.stamp }));
    }

    /**
     * A client's marker of the room's message: to the room (the other member gateways' users read it), and to the
     * account's clients in the room from our occupant, as a MUC reflects what an occupant sends. Not for a reference
     * room, nor while the room is down, nor of an id the room did not give: dropped (XEP-0333: no error for it).
     */
    async function markRoom(r: OpenRoom, m: { marker: RoomMarkerKind; id: string }): Promise<void> {
      const self = r.occupants.self;
      if (!r.link.echoes || !r.link.mark || !self) return;
      try {
        await r.link.mark(m.id, m.marker);
      } catch (err) {
        ctx.log.debug({ room: r.name, err: (err as Error).message }, 'room marker dropped');
        return;
      }
      r.marks.note(self, m);
      broadcast(r, (full) => roomMarkerStanza(`${r.jid}/${self}`, full, randomUUID(), m));
    }

    function leave(r: OpenRoom, full: string, why: string | undefined): void {
      const res = r.resources.get(full);
      if (!res) return;
      r.resources.delete(full);
      if (why !== undefined && res.inRoom) res.session.send(selfUnavailable(r, res, full, undefined));
      if (r.resources.size === 0) close(r);
    }

    function close(r: OpenRoom): void {
      if (open.get(r.name) === r) open.delete(r.name);
      r.resources.clear();
      queueMicrotask(() => void r.link?.leave());
    }

    function selfUnavailable(r: OpenRoom, res: Resource, full: string, reason: string | undefined): Element {
      const self = r.occupants.self ?? res.asked;
      return x('presence', { type: 'unavailable', from: `${r.jid}/${self}`, to: full },
        x('x', { xmlns: MUC_NS.user }, x('item', { affiliation: 'none', role: 'none' }), x('status', { code: '110' }), reason !== undefined && x('status', { code: '333' })),
        reason !== undefined && x('status', null, reason),
      );
    }

    function occupantPresence(r: OpenRoom, nick: string, type: 'unavailable' | undefined): (full: string) => Element {
      return (full) =>
        x('presence', { from: `${r.jid}/${nick}`, to: full, type }, x('x', { xmlns: MUC_NS.user }, x('item', { affiliation: 'none', role: type ? 'none' : 'participant' })));
    }

    function broadcast(r: OpenRoom, make: (full: string) => Element, to: (res: Resource) => boolean = () => true): void {
      for (const [full, res] of r.resources) if (res.inRoom && to(res)) res.session.send(make(full));
    }

    function roomNotice(r: OpenRoom, full: string, text: string): void {
      r.resources.get(full)?.session.send(x('message', { type: 'groupchat', from: r.jid, to: full, id: randomUUID() }, x('body', null, text)));
    }
  },
};
