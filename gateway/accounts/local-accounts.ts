// The local mode's accounts on disk: the default one (account.user, e.g. me@localhost) keeps its files
// in the data directory itself, as it always has; each added account `<name>@<account.domain>` has a
// directory of its own, <dataDir>/accounts/<name>/ (0700), with its tlsim identity, onion key and XMPP
// password (0600). Contacts, queue, history and offline messages are the store's, keyed by the account.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CERT_FILE, KEY_FILE, loadIdentity } from '../bridge/peer-protocol.js';
import type { Config } from '../config.js';
import { accountJid, queuedCount, shareFor } from '../daemon/status.js';
import type { Account, Store } from '../store/index.js';
import { ONION_KEY_FILE, stoppedTorStatus } from '../tor/gateway-tor.js';
import { ConfigError } from '../xmpp/errors.js';
import { CREDENTIALS_FILE, PASSWORD_FILE, checkedPassword, loadOrCreateLocalAccount, type LocalAccount } from '../xmpp/local-account.js';
import { writeSecretFile } from '../xmpp/secret-file.js';
import { UserRegistry, type RegisteredUser } from './registry.js';

export const ACCOUNTS_DIR = 'accounts';
/** Lowercase, so that the directory and the JID agree whatever a client types (localparts compare case-insensitively). */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The default account's files in the data directory: what removing it deletes. */
const DEFAULT_FILES = [KEY_FILE, CERT_FILE, ONION_KEY_FILE, PASSWORD_FILE, CREDENTIALS_FILE];

/** One line of `account list --json` and of `status --json` → `accounts`. */
export interface AccountInfo {
  jid: string;
  name: string;
  /** The account of `account.user`, whose files are in the data directory itself. */
  default: boolean;
  fingerprint: string | null;
  share: string | null;
  /** Its peer listener: peer.port for the default account, peer.port + its account number for the others. */
  peerPort: number | null;
  contacts: number;
  queued: number;
  passwordFile: string;
  /** Bound XMPP sessions (a running gateway only). */
  sessions?: number;
}

export class AccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountError';
  }
}

export class LocalAccounts {
  readonly registry: UserRegistry;
  readonly defaultJid: string;
  private readonly domain: string;

  constructor(
    private readonly store: Store,
    dataDir: string,
    private readonly config: Config,
  ) {
    this.domain = config.account.domain.toLowerCase();
    this.defaultJid = accountJid(config).toLowerCase();
    this.registry = new UserRegistry(store, dataDir, {
      dirOf: (jid) => (jid === this.defaultJid ? dataDir : join(dataDir, ACCOUNTS_DIR, jid.split('@')[0]!)),
      owns: (jid) => jid === this.defaultJid || (jid.endsWith(`@${this.domain}`) && NAME.test(jid.split('@')[0]!)),
    });
  }

  jidOf(name: string): string {
    return `${name.toLowerCase()}@${this.domain}`;
  }

  /** `name` as an account name, or an AccountError saying what is allowed. */
  checkName(name: string): string {
    const n = name.toLowerCase();
    if (!NAME.test(n)) throw new AccountError(`"${name}" cannot be an account name: use letters, digits, ".", "_" or "-" (up to 64, starting with a letter or digit)`);
    return n;
  }

  /** The default account first (even before its first start), then the added ones in the order they were added. */
  accounts(): Account[] {
    const all = this.registry.accounts();
    const stored = all.find((a) => a.jid === this.defaultJid);
    // Not in the store yet: shown all the same (id 0 owns nothing), without creating anything.
    const first: Account = stored ?? { id: 0, jid: this.defaultJid, createdAt: new Date() };
    return [first, ...all.filter((a) => a.jid !== this.defaultJid)];
  }

  /** The added accounts (not the default one). */
  added(): Account[] {
    return this.accounts().filter((a) => a.jid !== this.defaultJid);
  }

  find(name: string): Account | undefined {
    return this.store.accounts.get(this.jidOf(this.checkName(name)));
  }

  dirOf(jid: string): string {
    return this.registry.dirOf(jid);
  }

  /** Where an account listens for peers (0: a free port, when peer.port is 0). */
  peerPortOf(account: Account): number {
    const { port } = this.config.peer;
    return account.jid === this.defaultJid || port === 0 ? port : port + account.id;
  }

  /**
   * Makes the account `<name>@<domain>`: a new tlsim identity, its onion key and its password (read
   * from `passwordFile`, else generated). Refuses a name that exists.
   */
  async add(name: string, opts: { passwordFile?: string } = {}): Promise<{ user: RegisteredUser; account: LocalAccount; generated: boolean }> {
    const n = this.checkName(name);
    const jid = this.jidOf(n);
    if (jid === this.defaultJid || this.store.accounts.get(jid)) throw new AccountError(`${jid} exists already`);
    // Read (and checked) before anything is made, so a bad file leaves nothing behind.
    const password = opts.passwordFile ? checkedPassword(await readPasswordFile(opts.passwordFile), opts.passwordFile) : undefined;
    // The default account first, so it keeps the first account number whatever is added before it ever ran.
    this.store.accounts.ensure(this.defaultJid);
    const user = await this.registry.register(jid);
    if (password !== undefined) await writeSecretFile(join(user.dir, PASSWORD_FILE), `${password}\n`);
    const account = await loadOrCreateLocalAccount(user.dir, n);
    return { user, account, generated: password === undefined };
  }

  /** An added account with its identity and password, as a start brings it online. */
  async load(account: Account): Promise<{ user: RegisteredUser; account: LocalAccount } | undefined> {
    const user = await this.registry.load(account.jid);
    if (!user) return undefined;
    return { user, account: await loadOrCreateLocalAccount(user.dir, account.jid.split('@')[0]!) };
  }

  /**
   * Deletes the account: its identity, keys, password, contacts, queue, history and offline messages.
   * The default account's files are the data directory's own: only they go, and the next start makes
   * a fresh default account (a gateway always has one, so it always starts).
   */
  async remove(name: string): Promise<string> {
    const jid = this.jidOf(this.checkName(name));
    const known = this.store.accounts.get(jid);
    if (!known) {
      if (jid !== this.defaultJid) throw new AccountError(`no account ${jid}`);
      // The default account before its first start: its files, if any, still go.
      this.store.accounts.ensure(jid);
    }
    await this.registry.unregister(jid, jid === this.defaultJid ? DEFAULT_FILES : undefined);
    return jid;
  }

  /** What `account list` shows; `live` fills in what only a running gateway knows. */
  async info(account: Account, live?: { share: string | null; peerPort: number | null; sessions: number }): Promise<AccountInfo> {
    const dir = this.dirOf(account.jid);
    const fingerprint = await loadIdentity(dir).then((id) => id.fingerprint, () => null);
    const port = live ? live.peerPort : this.peerPortOf(account) || null;
    let share = live?.share ?? null;
    if (!live) {
      const tor = await stoppedTorStatus(this.config.tor, dir);
      share = tor.onion ? shareFor(fingerprint, tor.onion, this.config.tor.virtual_port) : shareFor(fingerprint, this.config.peer.advertise_host, port);
    }
    return {
      jid: account.jid,
      name: account.jid.split('@')[0]!,
      default: account.jid === this.defaultJid,
      fingerprint,
      share,
      peerPort: port,
      contacts: this.store.contacts.list(account.id, 'contact').length,
      queued: queuedCount(this.store, account.id),
      passwordFile: join(dir, PASSWORD_FILE),
      ...(live && { sessions: live.sessions }),
    };
  }

  /** The config names an added account as the default: its files would be mistaken for another's. */
  checkDefault(): void {
    const user = this.config.account.user.toLowerCase();
    const clash = this.added().find((a) => a.jid.split('@')[0] === user);
    if (clash) throw new ConfigError('account.user', `"${user}" is an added account (${ACCOUNTS_DIR}/${user}); the default account keeps its files in the data directory: choose another name`);
  }
}

async function readPasswordFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new AccountError(`cannot read the password file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Lines for a terminal. */
export function accountsText(lines: AccountInfo[]): string {
  return lines
    .map(
      (a) =>
        `${a.jid}${a.default ? ' (default)' : ''}\n  fingerprint: ${a.fingerprint ?? '(none yet)'}\n  share:       ${a.share ?? '-'}\n` +
        `  peer port:   ${a.peerPort ?? '-'}; ${a.contacts} contacts, ${a.queued} queued${a.sessions !== undefined ? `, ${a.sessions} sessions` : ''}\n` +
        `  password:    ${a.passwordFile}`,
    )
    .join('\n');
}
