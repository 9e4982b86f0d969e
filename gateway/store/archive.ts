// The message history of an account: every message in and out, per peer, with the stable id clients page
// by (XEP-0359 stanza-id, XEP-0313 archive UID), the archiving preferences and the retention pruning.
// The order is (stamp, id), and stamps never go back within an account, so "after this id" stays right.
import type { Statement } from 'better-sqlite3';
import type { AccountId } from './accounts.js';
import { appendIdBounds, checkFingerprint, cutText, timeOrderedId, toDate, toMs, type StoreContext } from './common.js';
import { StoreError } from './errors.js';

export type Direction = 'in' | 'out';

export interface ArchiveInput {
  readonly fingerprint: string;
  readonly direction: Direction;
  readonly text: string;
  /** When it was sent or received; default now. Never earlier than the account's last entry (clock steps). */
  readonly stamp?: Date | number;
  readonly xmppId?: string;
  /** The client's XEP-0359 origin-id (outgoing). */
  readonly originId?: string;
  /** An id chosen before the write (newArchiveId()); default a fresh one. */
  readonly stanzaId?: string;
  /** The id the message had on a gateway/3 link (ours going out, the peer's coming in). */
  readonly linkId?: string;
  /** The text was already cut (e.g. by the link's size limit). */
  readonly truncated?: boolean;
}

export interface ArchiveEntry {
  readonly id: number;
  /** Stable, unique per account, never reused: the XEP-0359 stanza-id and the MAM result id. */
  readonly stanzaId: string;
  readonly fingerprint: string;
  readonly direction: Direction;
  readonly text: string;
  readonly stamp: Date;
  readonly xmppId?: string;
  readonly originId?: string;
  readonly linkId?: string;
  readonly truncated: boolean;
}

export interface ArchiveQuery {
  /** Only messages with this peer. */
  readonly fingerprint?: string;
  /** Inclusive time range. */
  readonly start?: Date;
  readonly end?: Date;
  /** Exclusive bounds, by stanza id; an unknown id is StoreError 'unknown-id'. */
  readonly afterId?: string;
  readonly beforeId?: string;
  /** Only these (every one must exist, else 'unknown-id'). */
  readonly ids?: readonly string[];
  /** From the newest end of the range backwards (RSM <before/>). */
  readonly reverse?: boolean;
  /** Entries to skip first (RSM <index/>). */
  readonly offset?: number;
  readonly limit: number;
  /** Also count everything the filters match (ignoring the id bounds, the offset and the limit). */
  readonly count?: boolean;
}

export interface ArchivePage {
  /** In the order read: oldest first, or newest first when `reverse`. */
  readonly entries: ArchiveEntry[];
  /** More entries lie beyond the page in the direction read. */
  readonly more: boolean;
  readonly total?: number;
}

export type ArchiveDefault = 'always' | 'never' | 'roster';
export interface ArchiveRule {
  /** The bare JID as the user gave it (shown back as it was). */
  readonly jid: string;
  /** The peer it names, if it names one. */
  readonly peer?: string;
  readonly rule: 'always' | 'never';
}
export interface ArchivePrefs {
  readonly default: ArchiveDefault;
  readonly rules: readonly ArchiveRule[];
}

/** Without preferences everything is archived, as before there were any. */
export const DEFAULT_PREFS: ArchivePrefs = { default: 'always', rules: [] };
/** Rules kept per account. */
export const MAX_ARCHIVE_RULES = 1000;

/**
 * A fresh stanza id: what append() gives an entry, for callers that need it before the write. Shaped as a UUID
 * version 7 (RFC 9562): 48 bits of milliseconds, then 74 random bits. Unique and unguessable as a random UUID
 * is, but successive ids sort together, so the unique (account_id, stanza_id) index grows at its end instead of
 * dirtying a random page of it per message (which every group commit then wrote to the WAL).
 */
export const newArchiveId = (): string => timeOrderedId();

interface Row {
  id: number;
  stanza_id: string;
  fingerprint: string;
  direction: Direction;
  text: string;
  stamp: number;
  xmpp_id: string | null;
  origin_id: string | null;
  link_id: string | null;
  truncated: number;
}

const COLUMNS = 'id, stanza_id, fingerprint, direction, text, stamp, xmpp_id, origin_id, link_id, truncated';

function toEntry(r: Row): ArchiveEntry {
  return {
    id: r.id,
    stanzaId: r.stanza_id,
    fingerprint: r.fingerprint,
    direction: r.direction,
    text: r.text,
    stamp: toDate(r.stamp),
    truncated: r.truncated === 1,
    ...(r.xmpp_id !== null && { xmppId: r.xmpp_id }),
    ...(r.origin_id !== null && { originId: r.origin_id }),
    ...(r.link_id !== null && { linkId: r.link_id }),
  };
}

type Param = string | number;

export class Archive {
  private readonly insert;
  private readonly latest;
  private readonly lastStamp;
  private readonly byStanzaId;
  private readonly byLinkId;
  private readonly prune;
  private readonly prefsGet;
  private readonly prefsSet;
  /** Statements of query(), by their SQL (a handful of shapes). */
  private readonly queries = new Map<string, Statement<Param[]>>();
  private readonly prefsCache = new Map<AccountId, ArchivePrefs>();
  /**
   * Entries per account up to a row id, counted once (as Prosody's item count cache), then only the rows
   * after it (ids only grow: AUTOINCREMENT): the unfiltered count of every "last page" or id-paging query
   * would otherwise read the account's whole index. Deleting (retention, account removal) drops it.
   */
  private readonly totals = new Map<AccountId, { n: number; upTo: number }>();
  private readonly countAll;
  private readonly countAfter;
  private readonly countAfterId;
  private readonly maxId;

  constructor(private readonly ctx: StoreContext) {
    const { db } = ctx;
    // No RETURNING: the entry is what was written, plus the row id (reading the row back cost a step per message).
    this.insert = db.prepare<[number, string, string, string, number, string | null, string | null, string | null, number, string]>(
      `INSERT INTO archive (account_id, fingerprint, direction, text, stamp, xmpp_id, origin_id, link_id, truncated, stanza_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byLinkId = db.prepare<[number, string, string, string], Row>(
      `SELECT ${COLUMNS} FROM archive WHERE account_id = ? AND fingerprint = ? AND direction = ? AND link_id = ? ORDER BY id DESC LIMIT 1`,
    );
    this.latest = db.prepare<[number, string, number], Row>(
      `SELECT ${COLUMNS} FROM archive WHERE account_id = ? AND fingerprint = ? ORDER BY stamp DESC, id DESC LIMIT ?`,
    );
    this.lastStamp = db.prepare<[number], { s: number | null }>('SELECT max(stamp) AS s FROM archive WHERE account_id = ?');
    this.byStanzaId = db.prepare<[number, string], { id: number; stamp: number }>(
      'SELECT id, stamp FROM archive WHERE account_id = ? AND stanza_id = ?',
    );
    this.prune = db.prepare<[number, number, number]>(
      'DELETE FROM archive WHERE id IN (SELECT id FROM archive WHERE account_id = ? AND stamp < ? ORDER BY stamp LIMIT ?)',
    );
    this.countAll = db.prepare<[number], { n: number; m: number | null }>('SELECT count(*) AS n, max(id) AS m FROM archive WHERE account_id = ?');
    this.countAfter = db.prepare<[number, number], { n: number; m: number | null }>(
      // "+account_id": walk the rows after the id (the rowid range), not the account's whole index.
      'SELECT count(*) AS n, max(id) AS m FROM archive WHERE id > ? AND +account_id = ?',
    );
    this.prefsGet = db.prepare<[number], { default_rule: ArchiveDefault; rules: string }>(
      'SELECT default_rule, rules FROM archive_prefs WHERE account_id = ?',
    );
    this.prefsSet = db.prepare<[number, string, string]>(
      `INSERT INTO archive_prefs (account_id, default_rule, rules) VALUES (?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET default_rule = excluded.default_rule, rules = excluded.rules`,
    );
    this.countAfterId = db.prepare<[number, number], { direction: Direction; n: number; last: number }>(
      `SELECT direction, COUNT(*) AS n, MAX(id) AS last FROM archive WHERE id > ? AND account_id = ? GROUP BY direction`,
    );
    this.maxId = db.prepare<[], { id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM archive');
  }

  /**
   * Messages in and out recorded after message `afterId` (start from lastId()), and the newest id seen: the status
   * page samples this for its message-rate sparkline. A range on the primary key, so a sample costs
   * the rows since the last one, not the whole history.
   */
  countSince(accountId: AccountId, afterId: number): { in: number; out: number; lastId: number } {
    const out = { in: 0, out: 0, lastId: afterId };
    for (const r of this.countAfterId.all(afterId, accountId)) {
      out[r.direction] = r.n;
      out.lastId = Math.max(out.lastId, r.last);
    }
    return out;
  }

  /** The newest message id of any account (0 when empty); cheap: the end of the primary key. */
  lastId(): number {
    return this.maxId.get()!.id;
  }

  /** Records a message; text over the size limit is kept cut and marked truncated rather than refused. */
  append(accountId: AccountId, m: ArchiveInput): ArchiveEntry {
    checkFingerprint(m.fingerprint);
    const { text, cut } = cutText(m.text, this.ctx.limits.maxTextBytes);
    const truncated = cut || m.truncated === true ? 1 : 0;
    // A clock stepping back must not put a new message before one a client already paged past.
    const stamp = Math.max(toMs(m.stamp, this.ctx.now), this.newestStamp(accountId));
    const stanzaId = m.stanzaId ?? newArchiveId();
    const { lastInsertRowid } = this.insert.run(
      accountId,
      m.fingerprint,
      m.direction,
      text,
      stamp,
      m.xmppId ?? null,
      m.originId ?? null,
      m.linkId ?? null,
      truncated,
      stanzaId,
    );
    return {
      id: Number(lastInsertRowid),
      stanzaId,
      fingerprint: m.fingerprint,
      direction: m.direction,
      text,
      stamp: toDate(stamp),
      truncated: truncated === 1,
      ...(m.xmppId !== undefined && { xmppId: m.xmppId }),
      ...(m.originId !== undefined && { originId: m.originId }),
      ...(m.linkId !== undefined && { linkId: m.linkId }),
    };
  }

  /** The message with the peer that had this link id (a marker names it), however old; the latest if several. */
  findByLinkId(accountId: AccountId, fingerprint: string, direction: Direction, linkId: string): ArchiveEntry | undefined {
    const row = this.byLinkId.get(accountId, fingerprint, direction, linkId);
    return row && toEntry(row);
  }

  /** The last `limit` messages with the peer, oldest first (the order a client shows them). */
  recent(accountId: AccountId, fingerprint: string, limit = 50): ArchiveEntry[] {
    return this.latest.all(accountId, fingerprint, limit).map(toEntry).reverse();
  }

  /** One page of the history (XEP-0313 queries): filters, id bounds, direction, limit. */
  query(accountId: AccountId, q: ArchiveQuery): ArchivePage {
    const where: string[] = ['account_id = ?'];
    const args: Param[] = [accountId];
    if (q.fingerprint !== undefined) {
      where.push('fingerprint = ?');
      args.push(q.fingerprint);
    }
    if (q.start) {
      where.push('stamp >= ?');
      args.push(q.start.getTime());
    }
    if (q.end) {
      where.push('stamp <= ?');
      args.push(q.end.getTime());
    }
    if (q.ids) {
      const known = q.ids.filter((id) => this.byStanzaId.get(accountId, id));
      if (known.length !== q.ids.length) throw new StoreError('unknown-id', 'no such message in the archive');
      where.push(`stanza_id IN (${q.ids.map(() => '?').join(', ')})`);
      args.push(...q.ids);
    }
    const total = q.count ? this.count(accountId, where, args) : undefined;
    appendIdBounds(q, where, args, (id) => this.byStanzaId.get(accountId, id), () => new StoreError('unknown-id', 'no such message in the archive'));
    const dir = q.reverse ? 'DESC' : 'ASC';
    const sql = `SELECT ${COLUMNS} FROM archive WHERE ${where.join(' AND ')} ORDER BY stamp ${dir}, id ${dir} LIMIT ? OFFSET ?`;
    const rows = this.statement(sql).all(...args, q.limit + 1, q.offset ?? 0) as Row[];
    const more = rows.length > q.limit;
    return { entries: rows.slice(0, q.limit).map(toEntry), more, ...(total !== undefined && { total }) };
  }

  /** The oldest and the newest entry of the account, for the archive metadata. */
  ends(accountId: AccountId): { first?: ArchiveEntry; last?: ArchiveEntry } {
    const one = (reverse: boolean) => this.query(accountId, { limit: 1, reverse }).entries[0];
    const first = one(false);
    return first ? { first, last: one(true)! } : {};
  }

  /** Deletes up to `limit` of the account's entries older than `before`; returns how many. One short statement. */
  pruneOlderThan(accountId: AccountId, before: Date | number, limit: number): number {
    const n = this.prune.run(accountId, toMs(before, this.ctx.now), limit).changes;
    if (n > 0) this.totals.delete(accountId);
    return n;
  }

  /** The account is gone (its rows with it): forget what is kept about it. */
  forget(accountId: AccountId): void {
    this.totals.delete(accountId);
    this.prefsCache.delete(accountId);
  }

  private count(accountId: AccountId, where: string[], args: Param[]): number {
    if (where.length > 1) return (this.statement(`SELECT count(*) AS n FROM archive WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
    const cached = this.totals.get(accountId);
    const fresh = cached ? this.countAfter.get(cached.upTo, accountId)! : this.countAll.get(accountId)!;
    const now = { n: (cached?.n ?? 0) + fresh.n, upTo: Math.max(cached?.upTo ?? 0, fresh.m ?? 0) };
    this.totals.set(accountId, now);
    return now.n;
  }

  prefs(accountId: AccountId): ArchivePrefs {
    let p = this.prefsCache.get(accountId);
    if (!p) {
      const row = this.prefsGet.get(accountId);
      p = row ? { default: row.default_rule, rules: JSON.parse(row.rules) as ArchiveRule[] } : DEFAULT_PREFS;
      this.prefsCache.set(accountId, p);
    }
    return p;
  }

  setPrefs(accountId: AccountId, prefs: ArchivePrefs): ArchivePrefs {
    if (prefs.rules.length > MAX_ARCHIVE_RULES) throw new StoreError('too-large', `at most ${MAX_ARCHIVE_RULES} archiving rules`);
    const rules = prefs.rules.map((r) => ({ jid: r.jid, rule: r.rule, ...(r.peer !== undefined && { peer: checkFingerprint(r.peer) }) }));
    this.prefsSet.run(accountId, prefs.default, JSON.stringify(rules));
    this.prefsCache.delete(accountId);
    return this.prefs(accountId);
  }

  /** Whether a new message with the peer is archived: the peer's rule, else the default ('roster': a contact). */
  wants(accountId: AccountId, fingerprint: string, isContact: boolean): boolean {
    const p = this.prefs(accountId);
    const rule = p.rules.find((r) => r.peer === fingerprint)?.rule ?? p.default;
    return rule === 'always' || (rule === 'roster' && isContact);
  }

  /** One step down the (account_id, stamp) index: no cache to go stale when an account is removed. */
  private newestStamp(accountId: AccountId): number {
    return this.lastStamp.get(accountId)!.s ?? 0;
  }

  private statement(sql: string): Statement<Param[]> {
    let st = this.queries.get(sql);
    if (!st) {
      st = this.ctx.db.prepare<Param[]>(sql);
      this.queries.set(sql, st);
    }
    return st;
  }
}
