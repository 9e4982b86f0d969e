// Dino (0.4) from files: its accounts are rows of the `account` table in $XDG_DATA_HOME/dino/dino.db (SQLite,
// the password in the row, as Dino keeps it). A database that is not there yet is made with that one table, in
// Dino's own shape: Dino's first start adds every other table around it (its schema versioning starts from an
// empty _meta). Dino must not run meanwhile: it holds its accounts in memory.
import Database from 'better-sqlite3';

export interface DinoAccount {
  jid: string;
  password: string;
  resource: string;
  /** The name Dino shows for the account's own messages. */
  alias: string;
}

export interface DinoMerge {
  change: 'added' | 'updated' | 'unchanged';
  others: number;
}

/** Dino 0.4's account table, column for column (libdino's AccountTable). */
const ACCOUNT_TABLE = `CREATE TABLE IF NOT EXISTS account ( id INTEGER PRIMARY KEY AUTOINCREMENT, bare_jid TEXT NOT NULL UNIQUE,
  resourcepart TEXT, password TEXT, alias TEXT, enabled INTEGER, roster_version TEXT, mam_earliest_synced INTEGER)`;

/** Adds or updates our account in dino.db (made if missing), enabled so Dino connects at start; `dryRun` reads only. */
export function mergeDinoAccount(file: string, a: DinoAccount, opts: { dryRun: boolean; exists: boolean }): DinoMerge {
  if (!opts.exists && opts.dryRun) return { change: 'added', others: 0 };
  const db = new Database(file, { readonly: opts.dryRun, fileMustExist: opts.exists, timeout: 5_000 });
  try {
    if (!opts.exists) db.exec(ACCOUNT_TABLE);
    const rows = db.prepare('SELECT bare_jid, resourcepart, password, enabled FROM account').all() as { bare_jid: string; resourcepart: string | null; password: string | null; enabled: number | null }[];
    const ours = rows.find((r) => r.bare_jid === a.jid);
    const others = rows.length - (ours ? 1 : 0);
    if (ours && ours.password === a.password && ours.enabled === 1 && ours.resourcepart) return { change: 'unchanged', others };
    if (!opts.dryRun) {
      if (ours) db.prepare('UPDATE account SET password = ?, enabled = 1, resourcepart = coalesce(resourcepart, ?) WHERE bare_jid = ?').run(a.password, a.resource, a.jid);
      else db.prepare('INSERT INTO account (bare_jid, resourcepart, password, alias, enabled) VALUES (?, ?, ?, ?, 1)').run(a.jid, a.resource, a.password, a.alias);
    }
    return { change: ours ? 'updated' : 'added', others };
  } finally {
    db.close();
  }
}
