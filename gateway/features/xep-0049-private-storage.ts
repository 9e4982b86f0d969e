// Private XML storage, kept in the store: clients fall back to it for bookmarks and settings. XEP-0049.
// storage:bookmarks is the same list as the XEP-0402 bookmarks (XEP-0402 §5.3 "#compat"), whichever a client uses.
import { StoreError } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, IqRequest } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { BOOKMARKS, legacyStorage, nativeEvents, syncFromLegacy } from './support/bookmarks.js';
import { pepEvents } from './support/pep-events.js';
import { parsePayload, serializePayload } from './support/pubsub.js';

const NS_PRIVATE = 'jabber:iq:private';
const LEGACY_KEY = `{${BOOKMARKS.legacy}}storage`;

export const privateStorage: Feature = {
  name: 'private-storage',
  // Prosody lists it on the domain too; clients that look for it there find it. #compat: what this
  // storage holds under storage:bookmarks is the XEP-0402 list (Conversations, Dino and Gajim then use XEP-0402).
  disco: { server: [NS_PRIVATE], account: [`${BOOKMARKS.native}#compat`] },
  setup(ctx) {
    const data = ctx.userData;
    // Clients of the XEP-0402 node hear of what a legacy client writes here (the PEP feature's own
    // notifications use the same rules; this instance asks a client's caps again at most once per version).
    const events = pepEvents(ctx);
    const stored = (key: string): Element | undefined => {
      const xml = data.document(`private:${key}`);
      return xml === undefined ? undefined : parsePayload(xml);
    };

    ctx.iq('account', 'get', NS_PRIVATE, 'query', (req) => {
      const { el, key } = onlyChild(req);
      const doc = key === LEGACY_KEY ? legacyStorage(data, stored(key)) : stored(key);
      return x('query', { xmlns: NS_PRIVATE }, doc ?? x(el.name, { xmlns: el.getNS() }));
    });
    ctx.iq('account', 'set', NS_PRIVATE, 'query', (req) => {
      const { el, key } = onlyChild(req);
      try {
        data.setDocument(`private:${key}`, serializePayload(el));
      } catch (err) {
        if (err instanceof StoreError && (err.code === 'too-large' || err.code === 'too-many')) throw new StanzaError('not-acceptable', err.message);
        throw err;
      }
      if (key === LEGACY_KEY) {
        for (const event of nativeEvents(syncFromLegacy(data, el, req.from.toString()))) {
          // Not awaited: learning caps may mean asking the very client whose request this is.
          events.notify(BOOKMARKS.native, event).catch((err: unknown) => ctx.log.error({ err }, 'bookmark notification failed'));
        }
      }
      return undefined;
    });
  },
};

/** XEP-0049 §3: exactly one child, in a namespace of its own (jabber:*, including an inherited jabber:iq:private, is reserved). */
function onlyChild(req: IqRequest): { el: Element; key: string } {
  const children = req.payload.elements();
  if (children.length !== 1) throw new StanzaError('bad-request', 'exactly one element per request');
  const el = children[0]!;
  const ns = el.getNS();
  if (!ns) throw new StanzaError('bad-request', 'the element needs a namespace');
  if (ns.startsWith('jabber:')) throw new StanzaError('not-acceptable', 'jabber:* namespaces are reserved');
  return { el, key: `{${ns}}${el.name}` };
}
