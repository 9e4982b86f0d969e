// What PEP and the features built on it share: XEP-0060 namespaces and errors (§7.1.3, §7.1.5),
// node configuration forms (§16.4.4 pubsub#node_config, publish-options) and stored items as XML.
import type { PepItem, PepNodeConfig } from '../../store/pep.js';
import { StanzaError, type StanzaErrorCondition } from '../../xmpp/errors.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { parseFramedElement } from '../../xmpp/xml/parser.js';
import { dataForm, DATA_FORMS_NS } from './data-forms.js';

export const PUBSUB = {
  base: 'http://jabber.org/protocol/pubsub',
  owner: 'http://jabber.org/protocol/pubsub#owner',
  event: 'http://jabber.org/protocol/pubsub#event',
  errors: 'http://jabber.org/protocol/pubsub#errors',
  nodeConfig: 'http://jabber.org/protocol/pubsub#node_config',
  publishOptions: 'http://jabber.org/protocol/pubsub#publish-options',
} as const;

/** XEP-0163 §4: a PEP node is created with the "presence" access model and, here, one item. */
export const DEFAULT_NODE_CONFIG: PepNodeConfig = { accessModel: 'presence', maxItems: 1, persistItems: true };

const ACCESS_MODELS = ['presence', 'open', 'whitelist'] as const;

/** A stanza error with the pubsub#errors condition next to it (XEP-0060 §7, §6.5.9 ...). */
export function pubsubError(condition: StanzaErrorCondition, pubsubCondition: string | undefined, text?: string, feature?: string): StanzaError {
  return new StanzaError(
    condition,
    text,
    undefined,
    pubsubCondition ? { name: pubsubCondition, ns: PUBSUB.errors, ...(feature && { attrs: { feature } }) } : undefined,
  );
}

/** "max" and numbers for pubsub#max_items (XEP-0060 §16.4.4; "max" is the service's limit). */
function maxItemsOf(value: string, limit: number): number {
  if (value === 'max') return limit;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw pubsubError('not-acceptable', 'invalid-options', `pubsub#max_items: "${value}" is not a positive number or "max"`);
  if (n > limit) throw pubsubError('not-acceptable', 'invalid-options', `pubsub#max_items: at most ${limit} items per node`);
  return n;
}

function booleanOf(name: string, value: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw pubsubError('not-acceptable', 'invalid-options', `${name}: "${value}" is not a boolean`);
}

/**
 * The node options a publish-options or node configuration form asks for. Options we do not keep
 * (pubsub#send_last_published_item, pubsub#notify_retract...) are accepted and ignored: clients send
 * them as a matter of course. Throws not-acceptable for bad values, bad-request for a foreign form.
 */
export function optionsOf(form: Element | undefined, expectedType: string, maxItemsLimit: number): Partial<PepNodeConfig> {
  if (!form) return {};
  if (form.name !== 'x' || form.getNS() !== DATA_FORMS_NS) throw pubsubError('bad-request', 'invalid-options', 'expected a data form');
  const out: { -readonly [K in keyof PepNodeConfig]?: PepNodeConfig[K] } = {};
  for (const field of form.getChildren('field')) {
    const name = field.attr('var');
    const value = field.getChildText('value')?.trim() ?? '';
    if (name === 'FORM_TYPE') {
      if (value !== expectedType) throw pubsubError('bad-request', 'invalid-options', `FORM_TYPE must be ${expectedType}`);
    } else if (name === 'pubsub#access_model') {
      if (!(ACCESS_MODELS as readonly string[]).includes(value)) {
        throw pubsubError('not-acceptable', 'unsupported-access-model', `access models here: ${ACCESS_MODELS.join(', ')}`);
      }
      out.accessModel = value as PepNodeConfig['accessModel'];
    } else if (name === 'pubsub#max_items') {
      out.maxItems = maxItemsOf(value, maxItemsLimit);
    } else if (name === 'pubsub#persist_items') {
      out.persistItems = booleanOf(name, value);
    }
  }
  return out;
}

/** The fields of `wanted` that differ from the node's configuration (§7.1.5: precondition-not-met). */
export function conflictingOptions(node: PepNodeConfig, wanted: Partial<PepNodeConfig>): string[] {
  const names: Record<keyof PepNodeConfig, string> = { accessModel: 'pubsub#access_model', maxItems: 'pubsub#max_items', persistItems: 'pubsub#persist_items' };
  return (Object.keys(wanted) as Array<keyof PepNodeConfig>).filter((k) => wanted[k] !== node[k]).map((k) => names[k]);
}

/** The node configuration form (§8.2.1), with the current values. */
export function configForm(config: PepNodeConfig): Element {
  return dataForm('form', {
    fields: [
      { var: 'FORM_TYPE', type: 'hidden', value: PUBSUB.nodeConfig },
      {
        var: 'pubsub#access_model',
        type: 'list-single',
        label: 'Who may subscribe and retrieve items',
        value: config.accessModel,
        options: ACCESS_MODELS.map((m) => ({ label: m, value: m })),
      },
      { var: 'pubsub#max_items', type: 'text-single', label: 'Items to keep', value: String(config.maxItems) },
      { var: 'pubsub#persist_items', type: 'boolean', label: 'Keep items', value: config.persistItems ? '1' : '0' },
    ],
  });
}

/** A payload as stored: its namespace written on it, so it reads back detached from the item. */
export function serializePayload(payload: Element): string {
  const copy = payload.clone();
  const ns = payload.getNS();
  if (ns) copy.attrs.xmlns = ns;
  return copy.toString();
}

export function parsePayload(xml: string): Element {
  return parseFramedElement(xml, { maxStanzaBytes: Buffer.byteLength(xml) + 1, maxDepth: 64, maxAttributes: 64 });
}

/** `<item id=...>payload</item>`, as retrieval results and notifications carry it. */
export function itemElement(item: Pick<PepItem, 'id' | 'payload'> & { publisher?: string }): Element {
  return x('item', { id: item.id, publisher: item.publisher }, parsePayload(item.payload));
}
