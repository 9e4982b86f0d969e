// Gajim (1.7) from files: the account is a row of account_settings in $XDG_CONFIG_HOME/gajim/settings.sqlite
// (JSON per account, the keys Gajim's own account wizard sets), and the gateway's server certificate a PEM
// file in $XDG_DATA_HOME/gajim/cert_store/, which Gajim trusts for a certificate of an unknown CA that is
// the same certificate. Gajim must not run meanwhile: it holds the settings in memory and writes them back.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

export interface GajimAccount {
  user: string;
  domain: string;
  host: string;
  port: number;
  password: string;
}

/** Gajim 1.7's settings schema version (PRAGMA user_version); a newer Gajim migrates it forward itself. */
const USER_VERSION = 5;

export interface GajimMerge {
  /** The account's name in Gajim (its key in account_settings). */
  name: string;
  change: 'added' | 'updated' | 'unchanged';
  others: number;
  /** Whether the password went into the settings (Gajim without a keyring) or Gajim asks for it once. */
  passwordSaved: boolean;
  /** The database was made by us (Gajim's empty settings, as its first start makes them). */
  created: boolean;
}

type AccountJson = { account: Record<string, unknown>; contact: Record<string, unknown>; group_chat: Record<string, unknown> };

/** Creates Gajim's settings tables as its first start does (the same rows, empty presets). */
function createSchema(db: Database.Database): void {
  db.exec(`CREATE TABLE settings (name TEXT UNIQUE, settings TEXT);
           CREATE TABLE account_settings (account TEXT UNIQUE, settings TEXT);`);
  const row = db.prepare('INSERT INTO settings(name, settings) VALUES (?, ?)');
  // No keyring in a fresh setup: the password lives in this file (0600), as Gajim does with use_keyring off.
  row.run('app', JSON.stringify({ use_keyring: false, check_for_update: false }));
  for (const name of ['soundevents', 'status_presets', 'proxies', 'plugins']) row.run(name, '{}');
  row.run('workspaces', JSON.stringify({ [randomUUID()]: {} }));
  db.pragma(`user_version = ${USER_VERSION}`);
}

/** Adds or updates our account in settings.sqlite (made if missing); `dryRun` reads only. */
export function mergeGajimAccount(file: string, a: GajimAccount, opts: { dryRun: boolean; exists: boolean }): GajimMerge {
  if (!opts.exists && opts.dryRun) return { name: a.domain, change: 'added', others: 0, passwordSaved: true, created: true };
  const db = new Database(file, { readonly: opts.dryRun, fileMustExist: opts.exists, timeout: 5_000 });
  try {
    const created = !opts.exists;
    if (created) createSchema(db);
    const app = JSON.parse((db.prepare("SELECT settings FROM settings WHERE name = 'app'").get() as { settings: string } | undefined)?.settings ?? '{}') as Record<string, unknown>;
    // Gajim's default is the keyring; where it is used we cannot write it, and Gajim asks once.
    const passwordSaved = app.use_keyring === false;
    const rows = db.prepare('SELECT account, settings FROM account_settings').all() as { account: string; settings: string }[];
    const parsed = rows.map((r) => ({ name: r.account, json: JSON.parse(r.settings) as AccountJson }));
    const ours = parsed.find((r) => r.json.account?.name === a.user && r.json.account?.hostname === a.domain);
    // Gajim names an account after its domain (a number added when taken), as its wizard does.
    let name = ours?.name ?? a.domain;
    for (let i = 2; !ours && parsed.some((r) => r.name === name); i++) name = `${a.domain}${i}`;
    const want: Record<string, unknown> = {
      name: a.user,
      hostname: a.domain,
      account_label: `${a.user}@${a.domain}`,
      anonymous_auth: false,
      active: true,
      autoconnect: true,
      use_custom_host: true,
      custom_host: a.host,
      custom_port: a.port,
      custom_type: 'START TLS',
      savepass: true,
      ...(passwordSaved && { password: a.password }),
    };
    const old = ours?.json.account ?? {};
    const same = Object.entries(want).every(([k, v]) => old[k] === v);
    const others = parsed.length - (ours ? 1 : 0);
    if (same) return { name, change: 'unchanged', others, passwordSaved, created };
    if (!opts.dryRun) {
      const json: AccountJson = ours?.json ?? { account: {}, contact: {}, group_chat: {} };
      json.account = { resource: 'gajim', ...old, ...want };
      db.prepare('INSERT INTO account_settings(account, settings) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET settings = excluded.settings').run(
        name,
        JSON.stringify(json),
      );
    }
    return { name, change: ours ? 'updated' : 'added', others, passwordSaved, created };
  } finally {
    db.close();
  }
}
