// Private XML storage, kept in memory: clients fall back to it for bookmarks and settings. XEP-0049.
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, IqRequest } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';

const NS_PRIVATE = 'jabber:iq:private';

export const privateStorage: Feature = {
  name: 'private-storage',
  setup(ctx) {
    const stored = new Map<string, Element>();

    ctx.iq('account', 'get', NS_PRIVATE, 'query', (req) => {
      const { el, key } = onlyChild(req);
      return x('query', { xmlns: NS_PRIVATE }, stored.get(key)?.clone() ?? x(el.name, { xmlns: el.getNS() }));
    });
    ctx.iq('account', 'set', NS_PRIVATE, 'query', (req) => {
      const { el, key } = onlyChild(req);
      const copy = el.clone();
      copy.attrs.xmlns = el.getNS()!; // keep the namespace once detached from the query
      stored.set(key, copy);
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
