// The archive of a room (XEP-0313 §6, "MUC archives": a query to the room's bare JID): the messages of a room a
// gateway hosts, with the room's ids and times (docs/rooms.md). For a room of another gateway, our copy of what it
// sent us over the room extension; for a room this gateway hosts, the room's own log (also what was said while
// none of our clients was in). rooms.archive picks which; the paging here is the same for both.
// XEP-0059 paging, XEP-0297 forwarding, XEP-0359 stanza-ids by the room. A room without the extension has none.
import { randomUUID } from 'node:crypto';
import { StanzaError } from '../xmpp/errors.js';
import { conferenceDomain, type Feature } from '../xmpp/feature.js';
import { CLIENT_NS, SID_NS } from '../xmpp/stanza.js';
import { x } from '../xmpp/xml/element.js';
import { dataForm } from './support/data-forms.js';
import { DEFAULT_PAGE, MAX_PAGE, mamFilters } from './support/mam-query.js';
import { NS } from './support/ns.js';
import { parseRsm, rsmResult } from './support/xep-0059-rsm.js';

export const mamMuc: Feature = {
  name: 'mam-muc',
  setup(ctx) {
    const service = conferenceDomain(ctx.identity);
    const archive = ctx.network.rooms?.archive;
    if (!archive) return;
    const held = (room: string | undefined): string => {
      if (room === undefined || !ctx.network.rooms?.get(room) || !archive.holds(room)) {
        throw new StanzaError('service-unavailable', 'this room keeps no archive (only a room a gateway hosts does, once it has spoken)');
      }
      return room;
    };

    ctx.iq('room', 'get', NS.mam, 'query', (req) => {
      held(req.to.kind === 'room' && req.to.nick === undefined ? req.to.room : undefined);
      return x('query', { xmlns: NS.mam }, dataForm('form', {
        fields: [
          { var: 'FORM_TYPE', type: 'hidden', value: NS.mam },
          { var: 'start', type: 'text-single' },
          { var: 'end', type: 'text-single' },
          { var: 'before-id', type: 'text-single' },
          { var: 'after-id', type: 'text-single' },
        ],
      }));
    });

    ctx.iq('room', 'set', NS.mam, 'query', (req) => {
      const room = held(req.to.kind === 'room' && req.to.nick === undefined ? req.to.room : undefined);
      const jid = `${room}@${service}`;
      const query = req.payload;
      const f = mamFilters(query);
      if (f.with !== undefined) throw new StanzaError('feature-not-implemented', 'a room archive is not filtered by sender');
      const rsm = parseRsm(query);
      if (rsm?.index !== undefined) throw new StanzaError('feature-not-implemented', 'a room archive pages by id, not by index');
      const reverse = rsm?.before !== undefined;
      const page = archive.query(room, {
        ...(f.start && { start: f.start }),
        ...(f.end && { end: f.end }),
        ...((rsm?.before || f.beforeId) && { beforeId: rsm?.before || f.beforeId }),
        ...((rsm?.after ?? f.afterId) && { afterId: rsm?.after ?? f.afterId }),
        ...(f.ids && { ids: f.ids }),
        reverse,
        limit: Math.min(rsm?.max ?? DEFAULT_PAGE, MAX_PAGE),
      });
      const chronological = reverse ? [...page.entries].reverse() : page.entries;
      const queryid = query.attr('queryid');
      for (const e of chronological) {
        req.session.send(
          x('message', { to: req.from.toString(), from: jid, id: randomUUID() },
            x('result', { xmlns: NS.mam, queryid, id: e.id },
              x('forwarded', { xmlns: NS.forward },
                x('delay', { xmlns: NS.delay, stamp: e.stamp.toISOString() }),
                x('message', { xmlns: CLIENT_NS, type: 'groupchat', from: `${jid}/${e.nick}`, id: e.id },
                  x('body', null, e.text),
                  x('stanza-id', { xmlns: SID_NS, id: e.id, by: jid }),
                ),
              ),
            ),
          ),
        );
      }
      const first = chronological[0];
      const last = chronological[chronological.length - 1];
      return x('fin', { xmlns: NS.mam, ...(!page.more && { complete: 'true' }) },
        rsmResult({ ...(first && { first: first.id, last: last!.id }), count: page.total }),
      );
    });
  },
};
