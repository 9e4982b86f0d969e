// The user's PEP nodes and items (XEP-0163 over XEP-0060), and their other server-side XML
// documents (XEP-0049 private storage, their own vCard): XML text per account. Every write is one
// small transaction; the limits keep one client from filling the disk.
import type { AccountId } from './accounts.js';
import { toDate, withForeignKey, type StoreContext } from './common.js';
import { StoreError } from './errors.js';

export type PepAccessModel = 'presence' | 'open' | 'whitelist';

export interface PepNodeConfig {
  readonly accessModel: PepAccessModel;
  /** Items kept; the oldest go first beyond it. */
  readonly maxItems: number;
  /** False: items are sent to subscribers and not kept (XEP-0060 pubsub#persist_items). */
  readonly persistItems: boolean;
}

export interface PepItem {
  readonly id: string;
  /** The payload element as XML text. */
  readonly payload: string;
  /** The full JID that published it. */
  readonly publisher: string;
  readonly publishedAt: Date;
}

export interface PepLimits {
  /** Nodes per account. */
  readonly maxNodes: number;
  /** Items per node, whatever the node's max_items says (also what "max" means). */
  readonly maxItemsPerNode: number;
  /** One item's payload, in UTF-8 bytes (an avatar's data item is the big one). */
  readonly maxPayloadBytes: number;
  /** Private XML documents per account, and the size of each. */
  readonly maxDocuments: number;
  readonly maxDocumentBytes: number;
}

export const PEP_LIMITS: PepLimits = {
  maxNodes: 256,
  maxItemsPerNode: 256,
  maxPayloadBytes: 192 * 1024,
  maxDocuments: 256,
  maxDocumentBytes: 192 * 1024,
};

interface NodeRow {
  access_model: PepAccessModel;
  max_items: number;
  persist_items: number;
}
interface ItemRow {
  item_id: string;
  payload: string;
  publisher: string;
  published_at: number;
}

const toItem = (r: ItemRow): PepItem => ({ id: r.item_id, payload: r.payload, publisher: r.publisher, publishedAt: toDate(r.published_at) });

export class Pep {
  readonly limits: PepLimits;
  private readonly s;
  private readonly publishTx;
  private readonly configureTx;

  constructor(
    private readonly ctx: StoreContext,
    limits: Partial<PepLimits> = {},
  ) {
    this.limits = { ...PEP_LIMITS, ...limits };
    const { db } = ctx;
    this.s = {
      node: db.prepare<[number, string], NodeRow>('SELECT access_model, max_items, persist_items FROM pep_nodes WHERE account_id = ? AND node = ?'),
      nodes: db.prepare<[number], { node: string }>('SELECT node FROM pep_nodes WHERE account_id = ? ORDER BY node'),
      countNodes: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM pep_nodes WHERE account_id = ?'),
      createNode: db.prepare<[number, string, string, number, number, number]>(
        'INSERT INTO pep_nodes (account_id, node, access_model, max_items, persist_items, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      configure: db.prepare<[string, number, number, number, string]>(
        'UPDATE pep_nodes SET access_model = ?, max_items = ?, persist_items = ? WHERE account_id = ? AND node = ?',
      ),
      deleteNode: db.prepare<[number, string]>('DELETE FROM pep_nodes WHERE account_id = ? AND node = ?'),
      deleteItem: db.prepare<[number, string, string]>('DELETE FROM pep_items WHERE account_id = ? AND node = ? AND item_id = ?'),
      deleteItems: db.prepare<[number, string]>('DELETE FROM pep_items WHERE account_id = ? AND node = ?'),
      insertItem: db.prepare<[number, string, string, string, string, number]>(
        'INSERT INTO pep_items (account_id, node, item_id, payload, publisher, published_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      // Oldest first: the order items were published in.
      items: db.prepare<[number, string], ItemRow>(
        'SELECT item_id, payload, publisher, published_at FROM pep_items WHERE account_id = ? AND node = ? ORDER BY seq',
      ),
      latest: db.prepare<[number, string, number], ItemRow>(
        'SELECT item_id, payload, publisher, published_at FROM (SELECT * FROM pep_items WHERE account_id = ? AND node = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      item: db.prepare<[number, string, string], ItemRow>(
        'SELECT item_id, payload, publisher, published_at FROM pep_items WHERE account_id = ? AND node = ? AND item_id = ?',
      ),
      overflow: db.prepare<[number, string, number], { item_id: string }>(
        'SELECT item_id FROM pep_items WHERE account_id = ? AND node = ? ORDER BY seq DESC LIMIT -1 OFFSET ?',
      ),
      docGet: db.prepare<[number, string], { xml: string }>('SELECT xml FROM account_xml WHERE account_id = ? AND key = ?'),
      docCount: db.prepare<[number, string], { n: number }>('SELECT count(*) AS n FROM account_xml WHERE account_id = ? AND key <> ?'),
      docSet: db.prepare<[number, string, string, number]>(
        'INSERT INTO account_xml (account_id, key, xml, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, key) DO UPDATE SET xml = excluded.xml, updated_at = excluded.updated_at',
      ),
    };
    // Republishing an id moves it to the newest place; beyond max_items the oldest go.
    this.publishTx = db.transaction((acc: number, node: string, item: { id: string; payload: string; publisher: string }, max: number) => {
      this.s.deleteItem.run(acc, node, item.id);
      this.s.insertItem.run(acc, node, item.id, item.payload, item.publisher, this.ctx.now());
      return this.trim(acc, node, max);
    });
    this.configureTx = db.transaction((acc: number, node: string, c: PepNodeConfig): string[] => {
      this.s.configure.run(c.accessModel, c.maxItems, c.persistItems ? 1 : 0, acc, node);
      if (!c.persistItems) {
        const all = this.s.items.all(acc, node).map((r) => r.item_id);
        this.s.deleteItems.run(acc, node);
        return all;
      }
      return this.trim(acc, node, c.maxItems);
    });
  }

  private trim(acc: number, node: string, max: number): string[] {
    const gone = this.s.overflow.all(acc, node, Math.min(max, this.limits.maxItemsPerNode)).map((r) => r.item_id);
    for (const id of gone) this.s.deleteItem.run(acc, node, id);
    return gone;
  }

  /** A node's configuration, undefined when the node does not exist. */
  node(acc: AccountId, node: string): PepNodeConfig | undefined {
    const r = this.s.node.get(acc, node);
    return r && { accessModel: r.access_model, maxItems: r.max_items, persistItems: r.persist_items === 1 };
  }

  nodes(acc: AccountId): string[] {
    return this.s.nodes.all(acc).map((r) => r.node);
  }

  /** Creates a node; false when it exists already. Throws StoreError('too-many') beyond the limit. */
  createNode(acc: AccountId, node: string, config: PepNodeConfig): boolean {
    if (this.s.countNodes.get(acc)!.n >= this.limits.maxNodes) {
      throw new StoreError('too-many', `an account keeps at most ${this.limits.maxNodes} PEP nodes`);
    }
    const c = this.checked(config);
    return withForeignKey('no-account', `no account ${acc}`, () =>
      this.s.createNode.run(acc, node, c.accessModel, c.maxItems, c.persistItems ? 1 : 0, this.ctx.now()).changes > 0,
    );
  }

  /** Changes a node's configuration; returns the ids of the items that no longer fit. */
  configure(acc: AccountId, node: string, config: PepNodeConfig): string[] {
    return this.configureTx(acc, node, this.checked(config));
  }

  /**
   * Stores an item in an existing node (nothing when the node does not persist items); returns the
   * ids of older items it pushed out. Throws StoreError('too-large') for an oversized payload.
   */
  publish(acc: AccountId, node: string, item: { id: string; payload: string; publisher: string }): string[] {
    const bytes = Buffer.byteLength(item.payload, 'utf8');
    if (bytes > this.limits.maxPayloadBytes) {
      throw new StoreError('too-large', `an item of ${bytes} bytes is over the limit of ${this.limits.maxPayloadBytes}`);
    }
    const config = this.node(acc, node);
    if (!config) throw new StoreError('no-account', `no node ${node}`);
    if (!config.persistItems) return [];
    return this.publishTx(acc, node, item, config.maxItems);
  }

  /** All items oldest first, or the newest `max` of them (oldest first), or those with the given ids (in the order asked). */
  items(acc: AccountId, node: string, opts: { ids?: readonly string[]; max?: number } = {}): PepItem[] {
    if (opts.ids) {
      return opts.ids.map((id) => this.s.item.get(acc, node, id)).filter((r): r is ItemRow => r !== undefined).map(toItem);
    }
    const rows = opts.max !== undefined ? this.s.latest.all(acc, node, opts.max) : this.s.items.all(acc, node);
    return rows.map(toItem);
  }

  retract(acc: AccountId, node: string, id: string): boolean {
    return this.s.deleteItem.run(acc, node, id).changes > 0;
  }

  /** Removes the node and its items; false when there was none. */
  deleteNode(acc: AccountId, node: string): boolean {
    return this.s.deleteNode.run(acc, node).changes > 0;
  }

  /** A stored document (private XML, the user's vCard) by key. */
  document(acc: AccountId, key: string): string | undefined {
    return this.s.docGet.get(acc, key)?.xml;
  }

  setDocument(acc: AccountId, key: string, xml: string): void {
    const bytes = Buffer.byteLength(xml, 'utf8');
    if (bytes > this.limits.maxDocumentBytes) {
      throw new StoreError('too-large', `a document of ${bytes} bytes is over the limit of ${this.limits.maxDocumentBytes}`);
    }
    if (this.s.docGet.get(acc, key) === undefined && this.s.docCount.get(acc, key)!.n >= this.limits.maxDocuments) {
      throw new StoreError('too-many', `an account keeps at most ${this.limits.maxDocuments} documents`);
    }
    withForeignKey('no-account', `no account ${acc}`, () => this.s.docSet.run(acc, key, xml, this.ctx.now()));
  }

  private checked(c: PepNodeConfig): PepNodeConfig {
    return { ...c, maxItems: Math.max(1, Math.min(Math.floor(c.maxItems), this.limits.maxItemsPerNode)) };
  }
}
