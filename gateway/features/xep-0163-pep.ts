// The user's PEP service: publish (with auto-create and publish-options), retrieve, retract, node
// configuration, delete and purge, notifications to the user's clients and the last items at login.
// XEP-0163 over XEP-0060 (§6.5 retrieve, §7.1 publish, §7.1.5 publish-options, §7.2 retract, §8 owner).
// Peers have no PEP: queries to contacts fail fast.
import { randomUUID } from 'node:crypto';
import { StoreError, type PepNodeConfig } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Feature, FeatureContext } from '../xmpp/feature.js';
import type { SessionInfo } from '../xmpp/hooks.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { BOOKMARKS, legacyItem, nativeEvents, syncFromLegacy } from './support/bookmarks.js';
import { pepEvents, type PepEvents } from './support/pep-events.js';
import {
  configForm,
  conflictingOptions,
  DEFAULT_NODE_CONFIG,
  itemElement,
  optionsOf,
  PUBSUB,
  pubsubError,
  serializePayload,
} from './support/pubsub.js';

/** What really works here (XEP-0060 §10 feature names), advertised on the account. */
const FEATURES = [
  'publish',
  'publish-options',
  'auto-create',
  'create-nodes',
  'create-and-configure',
  'retrieve-items',
  'retract-items',
  'delete-items',
  'delete-nodes',
  'purge-nodes',
  'persistent-items',
  'last-published',
  'item-ids',
  'multi-items',
  'config-node',
  'config-node-max',
  'filtered-notifications',
  'access-presence',
  'access-open',
  'access-whitelist',
];

/** Asked of a user's PEP that is only a peer's business (subscriptions, affiliations, ...). */
const UNSUPPORTED = ['subscribe', 'unsubscribe', 'subscriptions', 'affiliations', 'options', 'default'];

const PEP_IDENTITY = { category: 'pubsub', type: 'pep' };

export const pep: Feature = {
  name: 'pep',
  disco: {
    // #compat-pep: the XEP-0048 node storage:bookmarks is the XEP-0402 list too (support/bookmarks.ts).
    account: [PUBSUB.base, ...FEATURES.map((f) => `${PUBSUB.base}#${f}`), `${BOOKMARKS.native}#compat-pep`],
    // COMPAT(pidgin): it turns PEP (avatars, moods) on from the identity on the server domain.
    identities: { server: [PEP_IDENTITY], account: [PEP_IDENTITY] },
  },
  setup(ctx) {
    const events = pepEvents(ctx);
    const service = new PepService(ctx, events);

    // COMPAT(dino): it asks every contact for its OMEMO device list; a quick item-not-found lets
    // it go on instead of waiting (the user then switches the chat to unencrypted).
    ctx.iq('contact', 'get', PUBSUB.base, 'pubsub', () => {
      throw new StanzaError('item-not-found', 'tlsim peers publish nothing');
    });

    ctx.iq('account', 'get', PUBSUB.base, 'pubsub', (req) => {
      const items = req.payload.getChild('items');
      if (!items) throw unsupported(req.payload);
      return service.retrieve(items);
    });
    ctx.iq('account', 'set', PUBSUB.base, 'pubsub', (req) => {
      const p = req.payload;
      const publish = p.getChild('publish');
      if (publish) return service.publish(publish, p.getChild('publish-options')?.getChild('x'), req.from.toString());
      const retract = p.getChild('retract');
      if (retract) return service.retract(retract);
      const create = p.getChild('create');
      if (create) return service.create(create, p.getChild('configure')?.getChild('x'));
      throw unsupported(p);
    });
    ctx.iq('account', 'get', PUBSUB.owner, 'pubsub', (req) => {
      const configure = req.payload.getChild('configure');
      if (!configure) throw unsupported(req.payload);
      const node = nodeOf(configure);
      return x('pubsub', { xmlns: PUBSUB.owner }, x('configure', { node }, configForm(service.config(node))));
    });
    ctx.iq('account', 'set', PUBSUB.owner, 'pubsub', (req) => {
      const p = req.payload;
      const configure = p.getChild('configure');
      if (configure) return void service.configure(nodeOf(configure), configure.getChild('x'));
      const del = p.getChild('delete');
      if (del) return void service.deleteNode(nodeOf(del));
      const purge = p.getChild('purge');
      if (purge) return void service.purge(nodeOf(purge));
      throw unsupported(p);
    });

    // XEP-0163 §4.3.4: a client coming online gets the last item of every node it wants.
    ctx.on('initial-presence', (session) => service.sendLastItems(session));
  },
};

function nodeOf(el: Element): string {
  const node = el.attr('node');
  if (!node) throw pubsubError('bad-request', 'nodeid-required', 'a node is required');
  return node;
}

function unsupported(pubsub: Element): StanzaError {
  const what = pubsub.elements()[0]?.name ?? 'nothing';
  const feature = UNSUPPORTED.includes(what) ? what : undefined;
  return pubsubError('feature-not-implemented', 'unsupported', `<${what}/> is not supported by this PEP service`, feature);
}

/** Store errors as pubsub errors a client understands. */
function storeFailure(err: unknown): never {
  if (err instanceof StoreError && err.code === 'too-large') throw pubsubError('not-acceptable', 'payload-too-big', err.message);
  if (err instanceof StoreError && err.code === 'too-many') throw new StanzaError('policy-violation', err.message);
  throw err;
}

class PepService {
  private readonly data;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly events: PepEvents,
  ) {
    this.data = ctx.userData;
  }

  config(node: string): PepNodeConfig {
    const c = this.data.node(node);
    if (!c) throw new StanzaError('item-not-found', `no node ${node}`);
    return c;
  }

  retrieve(items: Element): Element {
    const node = nodeOf(items);
    const out = x('items', { node });
    const legacy = this.legacyView(node);
    if (legacy) return x('pubsub', { xmlns: PUBSUB.base }, out.append(legacy));
    this.config(node);
    const ids = items.getChildren('item').map((i) => i.attr('id')).filter((id): id is string => !!id);
    const maxAttr = items.attr('max_items');
    const max = maxAttr === undefined ? undefined : Number(maxAttr);
    if (max !== undefined && !(Number.isInteger(max) && max > 0)) throw new StanzaError('bad-request', 'max_items must be a positive number');
    const found = this.data.items(node, ids.length > 0 ? { ids } : max !== undefined ? { max } : {});
    return x('pubsub', { xmlns: PUBSUB.base }, out.append(...found.map(itemElement)));
  }

  publish(publish: Element, optionsForm: Element | undefined, publisher: string): Element {
    const node = nodeOf(publish);
    const items = publish.getChildren('item');
    if (items.length === 0) throw pubsubError('bad-request', 'item-required', 'publish one item');
    if (items.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'publish one item at a time');
    const payloads = items[0]!.elements();
    if (payloads.length === 0) throw pubsubError('bad-request', 'payload-required', 'the item needs a payload');
    if (payloads.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'an item carries exactly one payload');
    const options = optionsOf(optionsForm, PUBSUB.publishOptions, this.data.limits.maxItemsPerNode);
    const existing = this.data.node(node);
    if (existing) {
      const conflicts = conflictingOptions(existing, options);
      // XEP-0060 §7.1.5.2: the client then reconfigures the node (Conversations does) or gives up.
      if (conflicts.length > 0) {
        throw new StanzaError('conflict', `the node is configured otherwise: ${conflicts.join(', ')}`, 'cancel', { name: 'precondition-not-met', ns: PUBSUB.errors });
      }
    }
    const id = items[0]!.attr('id') || randomUUID();
    const payload = serializePayload(payloads[0]!);
    // Checked before a node is made for it, so a refused item leaves nothing behind.
    const bytes = Buffer.byteLength(payload, 'utf8');
    if (bytes > this.data.limits.maxPayloadBytes) {
      throw pubsubError('not-acceptable', 'payload-too-big', `an item of ${bytes} bytes is over the limit of ${this.data.limits.maxPayloadBytes}`);
    }
    try {
      if (!existing) this.data.createNode(node, { ...DEFAULT_NODE_CONFIG, ...options });
      this.data.publish(node, { id, payload, publisher });
    } catch (err) {
      storeFailure(err);
    }
    this.send(node, x('items', { node }, itemElement({ id, payload, publisher })));
    const written = payloads[0]!;
    // Only a real list replaces the bookmarks: anything else published there would empty them.
    if (node === BOOKMARKS.legacy && written.name === 'storage' && written.getNS() === BOOKMARKS.legacy) this.legacyWritten(written, publisher);
    if (node === BOOKMARKS.native) this.nativeChanged();
    return x('pubsub', { xmlns: PUBSUB.base }, x('publish', { node }, x('item', { id })));
  }

  retract(retract: Element): void {
    const node = nodeOf(retract);
    this.config(node);
    const ids = retract.getChildren('item').map((i) => i.attr('id'));
    if (ids.length === 0 || ids.some((id) => !id)) throw pubsubError('bad-request', 'item-required', 'name the items to retract');
    for (const id of ids) if (!this.data.items(node, { ids: [id!] }).length) throw new StanzaError('item-not-found', `no item ${id!}`);
    for (const id of ids) this.data.retract(node, id!);
    const notify = retract.attr('notify');
    if (notify === 'true' || notify === '1') this.send(node, x('items', { node }, ...ids.map((id) => x('retract', { id }))));
    if (node === BOOKMARKS.native) this.nativeChanged();
  }

  create(create: Element, form: Element | undefined): void {
    const node = create.attr('node');
    if (!node) throw pubsubError('not-acceptable', 'nodeid-required', 'instant nodes are not supported: name the node');
    const options = optionsOf(form, PUBSUB.nodeConfig, this.data.limits.maxItemsPerNode);
    let created = false;
    try {
      created = this.data.createNode(node, { ...DEFAULT_NODE_CONFIG, ...options });
    } catch (err) {
      storeFailure(err);
    }
    if (!created) throw new StanzaError('conflict', `node ${node} exists`);
  }

  configure(node: string, form: Element | undefined): void {
    const current = this.config(node);
    if (!form) throw new StanzaError('bad-request', 'submit the configuration form');
    if (form.attr('type') === 'cancel') return;
    this.data.configure(node, { ...current, ...optionsOf(form, PUBSUB.nodeConfig, this.data.limits.maxItemsPerNode) });
  }

  deleteNode(node: string): void {
    if (!this.data.deleteNode(node)) throw new StanzaError('item-not-found', `no node ${node}`);
    this.send(node, x('delete', { node }));
    if (node === BOOKMARKS.native) this.nativeChanged();
  }

  purge(node: string): void {
    this.config(node);
    for (const item of this.data.items(node)) this.data.retract(node, item.id);
    this.send(node, x('purge', { node }));
    if (node === BOOKMARKS.native) this.nativeChanged();
  }

  /** The last item of each node the client's caps name, the legacy bookmarks view included. */
  async sendLastItems(session: SessionInfo): Promise<void> {
    await this.events.learn(session);
    const nodes = new Set(this.data.nodes());
    if (nodes.has(BOOKMARKS.native)) nodes.add(BOOKMARKS.legacy);
    for (const node of nodes) {
      const last = this.legacyView(node) ?? this.lastItem(node);
      if (last) await this.events.notifyOne(session, node, x('items', { node }, last), true);
    }
  }

  private lastItem(node: string): Element | undefined {
    const [item] = this.data.items(node, { max: 1 });
    return item && itemElement(item);
  }

  /** storage:bookmarks made from the native bookmarks, when there are any (XEP-0402 #compat-pep). */
  private legacyView(node: string): Element | undefined {
    return node === BOOKMARKS.legacy ? legacyItem(this.data) : undefined;
  }

  /** A legacy client wrote its whole list: the native bookmarks follow, and their clients hear of it. */
  private legacyWritten(storage: Element, publisher: string): void {
    for (const event of nativeEvents(syncFromLegacy(this.data, storage, publisher))) this.send(BOOKMARKS.native, event);
  }

  /** Native bookmarks changed: clients of the legacy node get the new list. */
  private nativeChanged(): void {
    const view = this.legacyView(BOOKMARKS.legacy);
    if (view) this.send(BOOKMARKS.legacy, x('items', { node: BOOKMARKS.legacy }, view));
  }

  /**
   * Not awaited: learning a client's caps means asking that client, whose answer waits in its
   * stream behind the very request being handled here.
   */
  private send(node: string, child: Element): void {
    this.events.notify(node, child).catch((err: unknown) => this.ctx.log.error({ err, node }, 'PEP notification failed'));
  }
}
