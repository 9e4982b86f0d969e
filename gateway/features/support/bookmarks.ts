// Bookmarks in both shapes, kept as one: XEP-0402 (one PEP item per room, urn:xmpp:bookmarks:1) is
// what is stored; the XEP-0048 <storage xmlns='storage:bookmarks'/> that legacy clients read from PEP
// or from private storage (XEP-0049) is made from it, and what they write is turned into it
// (XEP-0402 §5.3 "#compat", "#compat-pep"; the conversion of XEP-0411, done by the server).
// PEP and private storage both use this, and features never import each other.
import type { PepItem, PepNodeConfig } from '../../store/pep.js';
import type { UserData } from '../../xmpp/user-data.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { DATA_FORMS_NS } from './data-forms.js';
import { itemElement, parsePayload, PUBSUB, serializePayload } from './pubsub.js';

export const BOOKMARKS = { native: 'urn:xmpp:bookmarks:1', legacy: 'storage:bookmarks' } as const;

/** XEP-0402 §3: the node clients create with publish-options; "max" is our per-node limit. */
export function bookmarksNodeConfig(data: UserData): PepNodeConfig {
  return { accessModel: 'whitelist', maxItems: data.limits.maxItemsPerNode, persistItems: true };
}

const truthy = (v: string | undefined): boolean => v === 'true' || v === '1';

/** The native bookmarks, or undefined when no client has written any (nor converted any). */
function nativeItems(data: UserData): PepItem[] | undefined {
  return data.node(BOOKMARKS.native) ? data.items(BOOKMARKS.native) : undefined;
}

/**
 * The XEP-0048 list: one <conference/> per native bookmark, then whatever else the legacy copy held
 * (<url/> bookmarks have no native form). Without native bookmarks, the legacy copy as it is.
 */
export function legacyStorage(data: UserData, stored: Element | undefined): Element {
  const items = nativeItems(data);
  const storage = x('storage', { xmlns: BOOKMARKS.legacy });
  if (!items) {
    for (const c of stored?.children ?? []) storage.append(typeof c === 'string' ? c : c.clone());
    return storage;
  }
  for (const item of items) {
    const native = parsePayload(item.payload);
    if (native.name !== 'conference' || native.getNS() !== BOOKMARKS.native) continue;
    const nick = native.getChildText('nick');
    const password = native.getChildText('password');
    storage.append(
      x(
        'conference',
        { jid: item.id, name: native.attr('name'), autojoin: truthy(native.attr('autojoin')) ? 'true' : 'false' },
        nick !== undefined && x('nick', null, nick),
        password !== undefined && x('password', null, password),
      ),
    );
  }
  for (const other of stored?.elements() ?? []) if (other.name !== 'conference') storage.append(other.clone());
  return storage;
}

/** The XEP-0048 list as the one item of the legacy PEP node, made from the native bookmarks; undefined without any. */
export function legacyItem(data: UserData): Element | undefined {
  if (!data.node(BOOKMARKS.native)) return undefined;
  const stored = data.node(BOOKMARKS.legacy) ? data.items(BOOKMARKS.legacy, { max: 1 })[0] : undefined;
  return x('item', { id: 'current' }, legacyStorage(data, stored && parsePayload(stored.payload)));
}

/** What a legacy write changed in the native bookmarks, for notifications. */
export interface BookmarkChanges {
  readonly published: Array<{ id: string; payload: string }>;
  readonly retracted: string[];
}

/**
 * Makes the native bookmarks say what a legacy list says: a legacy client always writes its whole
 * list, so a room missing from it was removed. Native-only details (<extensions/>) are kept.
 */
export function syncFromLegacy(data: UserData, storage: Element, publisher: string): BookmarkChanges {
  const wanted = new Map<string, Element>();
  for (const c of storage.getChildren('conference')) {
    const jid = c.attr('jid')?.trim();
    if (jid) wanted.set(jid, c);
  }
  if (!data.node(BOOKMARKS.native)) {
    if (wanted.size === 0) return { published: [], retracted: [] };
    data.createNode(BOOKMARKS.native, bookmarksNodeConfig(data));
  }
  const existing = new Map(data.items(BOOKMARKS.native).map((i) => [i.id, i.payload]));
  const published: Array<{ id: string; payload: string }> = [];
  for (const [jid, c] of wanted) {
    const before = existing.get(jid);
    const extensions = before === undefined ? undefined : parsePayload(before).getChild('extensions');
    const nick = c.getChildText('nick');
    const password = c.getChildText('password');
    const payload = serializePayload(
      x(
        'conference',
        { xmlns: BOOKMARKS.native, name: c.attr('name'), autojoin: truthy(c.attr('autojoin')) ? 'true' : undefined },
        nick !== undefined && x('nick', null, nick),
        password !== undefined && x('password', null, password),
        extensions?.clone(),
      ),
    );
    if (payload === before) continue;
    data.publish(BOOKMARKS.native, { id: jid, payload, publisher });
    published.push({ id: jid, payload });
  }
  const retracted = [...existing.keys()].filter((id) => !wanted.has(id));
  for (const id of retracted) data.retract(BOOKMARKS.native, id);
  return { published, retracted };
}

/** The notifications a legacy write makes for clients of the native node: new or changed items, then retractions. */
export function nativeEvents(changes: BookmarkChanges): Element[] {
  const node = BOOKMARKS.native;
  const out: Element[] = [];
  if (changes.published.length > 0) out.push(x('items', { node }, ...changes.published.map(itemElement)));
  if (changes.retracted.length > 0) out.push(x('items', { node }, ...changes.retracted.map((id) => x('retract', { id }))));
  return out;
}

/**
 * Adds a XEP-0402 bookmark for `jid` unless the user has one (theirs wins: they may have turned autojoin off).
 * Legacy (XEP-0048) clients see it too, made from the native list. True when it was added.
 */
export function ensureBookmark(data: UserData, jid: string, fields: { name: string; nick: string; autojoin: boolean }, publisher: string): boolean {
  if (!data.node(BOOKMARKS.native)) data.createNode(BOOKMARKS.native, bookmarksNodeConfig(data));
  if (data.items(BOOKMARKS.native).some((i) => i.id === jid)) return false;
  const payload = serializePayload(
    x('conference', { xmlns: BOOKMARKS.native, name: fields.name, autojoin: fields.autojoin ? 'true' : undefined }, x('nick', null, fields.nick)),
  );
  data.publish(BOOKMARKS.native, { id: jid, payload, publisher });
  return true;
}

/**
 * The XEP-0402 publish of one room's bookmark (§3.2, with the publish-options the node needs: whitelist, persistent,
 * as many items as the service keeps), for a PEP service that is not ours: the user's own server in the transport mode.
 */
export function bookmarkPublish(jid: string, fields: { name: string; nick: string; autojoin: boolean }): Element {
  const field = (v: string, value: string, type?: string): Element => x('field', { var: v, type }, x('value', null, value));
  return x(
    'pubsub',
    { xmlns: PUBSUB.base },
    x('publish', { node: BOOKMARKS.native }, x('item', { id: jid }, x('conference', { xmlns: BOOKMARKS.native, name: fields.name, autojoin: fields.autojoin ? 'true' : undefined }, x('nick', null, fields.nick)))),
    x(
      'publish-options',
      null,
      x(
        'x',
        { xmlns: DATA_FORMS_NS, type: 'submit' },
        field('FORM_TYPE', PUBSUB.publishOptions, 'hidden'),
        field('pubsub#persist_items', 'true'),
        field('pubsub#max_items', 'max'),
        field('pubsub#send_last_published_item', 'never'),
        field('pubsub#access_model', 'whitelist'),
      ),
    ),
  );
}

/** The XEP-0060 retraction of one room's bookmark, with notification, for a PEP service that is not ours (as bookmarkPublish). */
export function bookmarkRetract(jid: string): Element {
  return x('pubsub', { xmlns: PUBSUB.base }, x('retract', { node: BOOKMARKS.native, notify: 'true' }, x('item', { id: jid })));
}
