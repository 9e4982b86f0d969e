// Accounts with a tlsim identity of their own, for both modes: an account in the store (contacts,
// queue, archive are keyed by it) and a directory of its own with its tlsim identity (key.pem 0600,
// cert.pem: the same files tlsd uses) and its onion key (onion-key.pem 0600, used when Tor is: the
// same onion whenever it is). Unregistering deletes both. The transport mode's users live under
// <dataDir>/users/<digest>/; the local mode's accounts choose their directories (local-accounts.ts).
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  importIdentity,
  loadIdentity,
  loadOrCreateIdentity,
  loadOrCreateOnionKey,
  type Identity,
  type OnionKey,
} from '../bridge/peer-protocol.js';
import type { Account, Store } from '../store/index.js';
import { ONION_KEY_FILE } from '../tor/gateway-tor.js';
import { ensurePrivateDir } from '../xmpp/secret-file.js';

export interface RegisteredUser {
  account: Account;
  identity: Identity;
  /** Their onion service's key (read once here, not at every start of their links). */
  onionKey: OnionKey;
  /** Where their identity lives. */
  dir: string;
}

export interface UserRegistryOptions {
  /** Where an account's files live (default: users/<digest of the JID>/ in the data directory). */
  dirOf?: (jid: string) => string;
  /** Which of the store's accounts this registry lists (default: all). */
  owns?: (jid: string) => boolean;
}

export class UserRegistry {
  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly o: UserRegistryOptions = {},
  ) {}

  /** A user's directory: by default named by a digest of the JID, so no JID can reach outside users/. */
  dirOf(jid: string): string {
    return this.o.dirOf?.(jid) ?? join(this.dataDir, 'users', createHash('sha256').update(jid).digest('hex').slice(0, 32));
  }

  isRegistered(jid: string): boolean {
    return this.store.accounts.get(jid) !== undefined;
  }

  accounts(): Account[] {
    const all = this.store.accounts.list();
    return this.o.owns ? all.filter((a) => this.o.owns!(a.jid)) : all;
  }

  /** A registered user with their identity, or undefined. */
  async load(jid: string): Promise<RegisteredUser | undefined> {
    const account = this.store.accounts.get(jid);
    if (!account) return undefined;
    const dir = this.dirOf(jid);
    // A user registered while Tor was off gets their onion key at the first start after.
    return { account, identity: await loadIdentity(dir), onionKey: await loadOrCreateOnionKey(join(dir, ONION_KEY_FILE)), dir };
  }

  /**
   * Registers `jid`: a new identity, or the given tlsd key and certificate (checked to belong
   * together before anything is written). An already registered user keeps theirs.
   */
  async register(jid: string, existing?: { keyPem: string; certPem: string }): Promise<RegisteredUser & { created: boolean }> {
    const dir = this.dirOf(jid);
    // The default local account lives in the data directory itself, whose parent is not ours to tighten.
    if (dir !== this.dataDir) await ensurePrivateDir(dirname(dir));
    await ensurePrivateDir(dir);
    const known = this.store.accounts.get(jid);
    // Files left by an attempt that never reached the store belong to nobody: an import replaces them.
    const identity =
      existing && !known ? await importIdentity(dir, existing.keyPem, existing.certPem, { force: true }) : await loadOrCreateIdentity(dir);
    const onionKey = await loadOrCreateOnionKey(join(dir, ONION_KEY_FILE));
    if (!known) this.store.accounts.ensure(jid);
    return { account: this.store.accounts.get(jid)!, identity, onionKey, dir, created: !known };
  }

  /**
   * Deletes the account (contacts, queue, history) and its files: the whole directory, or only
   * `files` in it (an account living in the data directory itself).
   */
  async unregister(jid: string, files?: readonly string[]): Promise<boolean> {
    const account = this.store.accounts.get(jid);
    if (!account) return false;
    this.store.accounts.remove(account.id);
    const dir = this.dirOf(jid);
    if (files) await Promise.all(files.map((f) => rm(join(dir, f), { force: true })));
    else await rm(dir, { recursive: true, force: true });
    return true;
  }
}
