// History on every device: queries of the account's archive, its form, metadata and preferences.
// XEP-0313 (urn:xmpp:mam:2 and #extended), XEP-0059 paging, XEP-0297 forwarding, XEP-0359 ids,
// XEP-0441 preferences. Only messages with peers are archived (not the gateway contact's notices).
import { randomUUID } from 'node:crypto';
import { StoreError, type ArchiveDefault, type ArchiveEntry, type ArchiveRule } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, IqRequest, XmppIdentity } from '../xmpp/feature.js';
import type { MessageArchive } from '../xmpp/message-archive.js';
import { CLIENT_NS, SID_NS } from '../xmpp/stanza.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { archiveIds, shownText } from './support/archived-message.js';
import { dataForm } from './support/data-forms.js';
import { NS } from './support/ns.js';
import { peerBareJid, peerFullJid, peerIdOf } from './support/peer-jid.js';
import { toJid } from '../xmpp/router.js';
import { parseRsm, rsmResult } from './support/xep-0059-rsm.js';
import { DEFAULT_PAGE, MAX_PAGE, mamFilters as filters } from './support/mam-query.js';

export const MAM_NS = NS.mam;
const MAM_EXTENDED = 'urn:xmpp:mam:2#extended';
const FORWARD_NS = NS.forward;
export { DEFAULT_PAGE, MAX_PAGE } from './support/mam-query.js';


export const mam: Feature = {
  name: 'mam',
  disco: { account: [MAM_NS, MAM_EXTENDED, SID_NS] },
  setup(ctx) {
    const { archive, identity } = ctx;
    // Without a store (some tests) there is no history to query: the central fallback answers.
    if (!archive) return;
    const user = identity.user.bare().toString();

    ctx.iq('account', 'get', MAM_NS, 'query', () =>
      x(
        'query',
        { xmlns: MAM_NS },
        dataForm('form', {
          fields: [
            { var: 'FORM_TYPE', type: 'hidden', value: MAM_NS },
            { var: 'with', type: 'jid-single' },
            { var: 'start', type: 'text-single' },
            { var: 'end', type: 'text-single' },
            { var: 'before-id', type: 'text-single' },
            { var: 'after-id', type: 'text-single' },
          ],
        }).append(
          // The ids a client may ask for are open, never listed (XEP-0313 §4.1.5, XEP-0122).
          x('field', { var: 'ids', type: 'list-multi' }, x('validate', { xmlns: 'http://jabber.org/protocol/xdata-validate', datatype: 'xs:string' }, x('open'))),
        ),
      ),
    );

    ctx.iq('account', 'set', MAM_NS, 'query', (req) => {
      // As Prosody's mod_mam: this session syncs from the archive, so stored offline messages are not pushed to it.
      req.session.archiveQueried = true;
      return runQuery(req, archive, identity, user);
    });

    ctx.iq('account', 'get', MAM_NS, 'metadata', () => {
      const { first, last } = archive.ends();
      const end = (name: string, e: ArchiveEntry | undefined) => e && x(name, { id: e.stanzaId, timestamp: e.stamp.toISOString() });
      return x('metadata', { xmlns: MAM_NS }, end('start', first), end('end', last));
    });

    const prefsElement = (): Element => {
      const p = archive.prefs();
      const list = (rule: 'always' | 'never') => x(rule, null, ...p.rules.filter((r) => r.rule === rule).map((r) => x('jid', null, r.jid)));
      return x('prefs', { xmlns: MAM_NS, default: p.default }, list('always'), list('never'));
    };
    ctx.iq('account', 'get', MAM_NS, 'prefs', prefsElement);
    ctx.iq('account', 'set', MAM_NS, 'prefs', (req) => {
      const current = archive.prefs();
      const def = req.payload.attr('default') ?? current.default;
      if (def !== 'always' && def !== 'never' && def !== 'roster') throw new StanzaError('bad-request', "default must be 'always', 'never' or 'roster'");
      const rules = new Map<string, ArchiveRule>();
      // A JID in both lists is never archived (never is read last).
      for (const rule of ['always', 'never'] as const) {
        for (const el of req.payload.getChild(rule)?.getChildren('jid') ?? []) {
          const j = toJid(el.text().trim());
          const jid = j.bare().toString();
          const peer = peerIdOf(identity, j);
          rules.set(jid, { jid, rule, ...(peer && { peer }) });
        }
      }
      try {
        archive.setPrefs({ default: def as ArchiveDefault, rules: [...rules.values()] });
      } catch (err) {
        if (err instanceof StoreError && err.code === 'too-large') throw new StanzaError('policy-violation', err.message);
        throw err;
      }
      return prefsElement();
    });
  },
};

function runQuery(req: IqRequest, archive: MessageArchive, identity: XmppIdentity, user: string): Element {
  const query = req.payload;
  if (query.attr('node') !== undefined) throw new StanzaError('feature-not-implemented', 'no pubsub archives here');
  const f = filters(query);
  const rsm = parseRsm(query);
  const max = Math.min(rsm?.max ?? DEFAULT_PAGE, MAX_PAGE);
  // RSM <before/> (empty: the last page) pages backwards; before-id is only a bound (XEP-0313 §9).
  const reverse = rsm?.before !== undefined;
  const beforeId = rsm?.before || f.beforeId;
  const afterId = rsm?.after ?? f.afterId;
  const queryid = query.attr('queryid');
  const fin = (complete: boolean, set: Element) => x('fin', { xmlns: MAM_NS, ...(complete && { complete: 'true' }) }, set);

  let fingerprint: string | undefined;
  if (f.with !== undefined) {
    fingerprint = peerIdOf(identity, f.with);
    // Only peers are archived: anyone else (the gateway contact, the user) has no messages here.
    if (!fingerprint) return fin(true, rsmResult({ count: 0 }));
  }
  let page;
  try {
    page = archive.query({
      ...(fingerprint !== undefined && { fingerprint }),
      ...(f.start && { start: f.start }),
      ...(f.end && { end: f.end }),
      ...(beforeId && { beforeId }),
      ...(afterId && { afterId }),
      ...(f.ids && { ids: f.ids }),
      reverse,
      ...(rsm?.index !== undefined && { offset: rsm.index }),
      limit: max,
      count: true,
    });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'unknown-id') throw new StanzaError('item-not-found', 'no message with that id in the archive');
    throw err;
  }
  // Results go out oldest first, whichever end was read; <flip-page/> sends the page the other way round.
  const chronological = reverse ? [...page.entries].reverse() : page.entries;
  const flip = query.getChild('flip-page') !== undefined;
  for (const e of flip ? [...chronological].reverse() : chronological) {
    req.session.send(
      x(
        'message',
        { to: req.from.toString(), from: user, id: randomUUID() },
        x(
          'result',
          { xmlns: MAM_NS, queryid, id: e.stanzaId },
          x('forwarded', { xmlns: FORWARD_NS }, x('delay', { xmlns: NS.delay, stamp: e.stamp.toISOString() }), archived(identity, user, e)),
        ),
      ),
    );
  }
  const first = chronological[0];
  const last = chronological[chronological.length - 1];
  return fin(
    !page.more,
    rsmResult({
      ...(first && { first: first.stanzaId, last: last!.stanzaId }),
      ...(first && rsm?.index !== undefined && !reverse && { firstIndex: rsm.index }),
      ...(page.total !== undefined && { count: page.total }),
    }),
  );
}

/** The message as the user saw it when it went through: the same body, id, origin-id and stanza-id. */
function archived(identity: XmppIdentity, user: string, e: ArchiveEntry): Element {
  const incoming = e.direction === 'in';
  return x(
    'message',
    {
      xmlns: CLIENT_NS,
      type: 'chat',
      id: e.xmppId ?? e.stanzaId,
      from: incoming ? peerFullJid(identity, e.fingerprint) : user,
      to: incoming ? user : peerBareJid(identity, e.fingerprint),
    },
    x('body', null, shownText(e.text, e.truncated)),
    e.originId !== undefined && x('origin-id', { xmlns: SID_NS, id: e.originId }),
    ...archiveIds(identity, e.stanzaId),
  );
}
