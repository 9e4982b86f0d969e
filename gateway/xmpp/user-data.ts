// What the user keeps on the server for their clients (PEP nodes and items, private XML, their
// vCard), bound to their account: in the store for the gateway, in an in-memory database for tests.
import Database from 'better-sqlite3';
import type { AccountId } from '../store/accounts.js';
import { DEFAULT_LIMITS } from '../store/common.js';
import { migrate } from '../store/migrations.js';
import { Pep, type PepLimits } from '../store/pep.js';

/** Pep's methods with the account already filled in. */
export type UserData = {
  readonly [K in keyof Pep]: Pep[K] extends (acc: AccountId, ...rest: infer A) => infer R ? (...rest: A) => R : Pep[K];
};

/** The account's data in the gateway's store. */
export function storeUserData(store: { pep: Pep }, accountId: AccountId): UserData {
  const pep = store.pep;
  const bound: Record<string, unknown> = { limits: pep.limits };
  for (const key of Object.getOwnPropertyNames(Pep.prototype)) {
    const fn = (pep as unknown as Record<string, unknown>)[key];
    if (key === 'constructor' || typeof fn !== 'function' || key === 'trim' || key === 'checked') continue;
    bound[key] = (...rest: unknown[]) => (fn as (...a: unknown[]) => unknown).call(pep, accountId, ...rest);
  }
  return bound as UserData;
}

/** A private in-memory database with the real schema: tests and modes that keep nothing. */
export function memoryUserData(limits: Partial<PepLimits> = {}): UserData {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  const ctx = { db, now: Date.now, limits: DEFAULT_LIMITS };
  migrate(db, ctx.now);
  db.prepare("INSERT INTO accounts (id, jid, created_at) VALUES (1, 'memory', 0)").run();
  return storeUserData({ pep: new Pep(ctx, limits) }, 1);
}
