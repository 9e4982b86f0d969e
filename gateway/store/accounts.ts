// Local accounts: the one user of the local mode, or each registered user of the transport mode.
import type { StoreContext } from './common.js';
import { toDate } from './common.js';

export type AccountId = number;

export interface Account {
  readonly id: AccountId;
  /** The bare JID, as the caller normalised it (the store compares it exactly). */
  readonly jid: string;
  readonly createdAt: Date;
}

interface Row {
  id: number;
  jid: string;
  created_at: number;
}

const toAccount = (r: Row): Account => ({ id: r.id, jid: r.jid, createdAt: toDate(r.created_at) });

export class Accounts {
  private readonly insert;
  private readonly byJid;
  private readonly all;
  private readonly del;

  constructor(
    private readonly ctx: StoreContext,
    /** Told after an account was deleted (caches of its rows). */
    private readonly removed: (id: AccountId) => void = () => {},
  ) {
    const { db } = ctx;
    this.insert = db.prepare<[string, number]>('INSERT INTO accounts (jid, created_at) VALUES (?, ?) ON CONFLICT (jid) DO NOTHING');
    this.byJid = db.prepare<[string], Row>('SELECT id, jid, created_at FROM accounts WHERE jid = ?');
    this.all = db.prepare<[], Row>('SELECT id, jid, created_at FROM accounts ORDER BY id');
    this.del = db.prepare<[number]>('DELETE FROM accounts WHERE id = ?');
  }

  /** The id of the account with this JID, created on first use. */
  ensure(jid: string): AccountId {
    if (jid === '') throw new Error('an account needs a JID');
    this.insert.run(jid, this.ctx.now());
    return this.byJid.get(jid)!.id;
  }

  get(jid: string): Account | undefined {
    const row = this.byJid.get(jid);
    return row && toAccount(row);
  }

  list(): Account[] {
    return this.all.all().map(toAccount);
  }

  /** Deletes the account and everything it owns (contacts, queue, history, held messages). */
  remove(id: AccountId): boolean {
    const gone = this.del.run(id).changes > 0;
    if (gone) this.removed(id);
    return gone;
  }
}
