// The running local gateway's added accounts: each gets a peer network of its own (its identity, its
// listener on peer.port + its account number, with Tor its own onion on the gateway's tor) and its
// place in the XMPP server; `tlsim-gateway account add|remove|list` reaches them over the control socket.
import { jid as makeJid } from '@xmpp/jid';
import type { Logger } from 'pino';
import { AccountError, LocalAccounts, accountsText, type AccountInfo } from '../accounts/local-accounts.js';
import type { UserOnions } from '../accounts/onions.js';
import type { RegisteredUser } from '../accounts/registry.js';
import type { PeerSessionHooks } from '../component/peer-session.js';
import type { TlsimNetwork } from '../bridge/tlsim-network.js';
import type { Config } from '../config.js';
import type { ControlResponse } from '../control/protocol.js';
import type { Account, Store } from '../store/index.js';
import { storeMessageArchive } from '../xmpp/message-archive.js';
import { storeUserData } from '../xmpp/user-data.js';
import { storeOfflineBox } from '../xmpp/offline-box.js';
import type { XmppServer } from '../xmpp/server.js';
import type { UploadStore } from '../files/upload-store.js';

export interface AccountsRuntimeOptions {
  store: Store;
  config: Config;
  log: Logger;
  server: XmppServer;
  accounts: LocalAccounts;
  /** A network for an added account; `port` is where it listens. */
  makeNetwork(user: RegisteredUser, port: number, log: Logger): TlsimNetwork;
  /** The gateway's tor carrying the accounts' onions, when Tor is used. */
  onions(): UserOnions | undefined;
  /** The default account as it runs (its network and port are the daemon's). */
  defaultLive(): { share: string | null; peerPort: number | null };
  /** (Additive) The gateway's files (XEP-0363), when it keeps them: each account sees its own. */
  uploads?: UploadStore;
}

interface Live {
  network: TlsimNetwork;
  onion?: PeerSessionHooks;
}

/** A control request about accounts, as `tlsim-gateway account` sends it. */
export type AccountRequest = { action: 'list' } | { action: 'add'; name: string; passwordFile?: string } | { action: 'remove'; name: string };

export class AccountsRuntime {
  private readonly live = new Map<string, Live>();

  constructor(private readonly o: AccountsRuntimeOptions) {}

  /** Every added account online; one that cannot start is logged and left out, never the whole gateway. */
  async startAll(): Promise<void> {
    for (const account of this.o.accounts.added()) {
      await this.bringOnline(account).catch((err: unknown) => this.o.log.error({ err, account: account.jid }, 'account could not be started'));
    }
  }

  /** The networks of every added account (reload applies the unknown-peer policy to them too). */
  networks(): TlsimNetwork[] {
    return [...this.live.values()].map((l) => l.network);
  }

  private async bringOnline(account: Account): Promise<void> {
    const loaded = await this.o.accounts.load(account);
    if (!loaded) return;
    const log = this.o.log.child({ account: account.jid });
    const wanted = this.o.accounts.peerPortOf(account);
    let network = this.o.makeNetwork(loaded.user, wanted, log);
    const online = async (net: TlsimNetwork): Promise<void> => {
      const { domain } = this.o.config.account;
      await this.o.server.addAccount({
        identity: { domain, peerDomain: this.o.config.peer.domain, user: makeJid(account.jid.split('@')[0]!, domain) },
        network: net,
        account: loaded.account,
        offline: storeOfflineBox(this.o.store, account.id, log, this.o.config.c2s.offline_messages),
        archive: storeMessageArchive(this.o.store, account.id),
        userData: storeUserData(this.o.store, account.id),
        ...(this.o.uploads && { files: this.o.uploads.forAccount(account.id) }),
      });
    };
    try {
      await online(network);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      // Another program holds its port: a free one meanwhile (its direct share string changes; an onion's stays).
      log.warn({ port: wanted, err: (err as Error).message }, 'peer port taken: listening on a free port for now');
      network = this.o.makeNetwork(loaded.user, 0, log);
      await online(network);
    }
    const onion = this.o.onions()?.sessionHooks(loaded.user, log);
    await onion?.started?.(network);
    this.live.set(account.jid, { network, ...(onion && { onion }) });
  }

  async list(): Promise<AccountInfo[]> {
    const out: AccountInfo[] = [];
    for (const account of this.o.accounts.accounts()) {
      const user = this.o.server.users.get(account.jid);
      const sessions = user?.router.all().length ?? 0;
      const l = this.live.get(account.jid);
      const live = account.jid === this.o.accounts.defaultJid ? this.o.defaultLive() : l && liveOf(l.network);
      out.push(await this.o.accounts.info(account, { share: live?.share ?? null, peerPort: live?.peerPort ?? null, sessions }));
    }
    return out;
  }

  async add(name: string, passwordFile?: string): Promise<AccountInfo & { generated: boolean }> {
    const made = await this.o.accounts.add(name, passwordFile ? { passwordFile } : {});
    try {
      await this.bringOnline(made.user.account);
    } catch (err) {
      // Made but not online (e.g. no port at all): it comes up at the next start.
      this.o.log.error({ err, account: made.user.account.jid }, 'account made but not started');
    }
    const info = (await this.list()).find((a) => a.jid === made.user.account.jid)!;
    return { ...info, generated: made.generated };
  }

  async remove(name: string): Promise<string> {
    const jid = this.o.accounts.jidOf(this.o.accounts.checkName(name));
    if (jid === this.o.accounts.defaultJid) {
      throw new AccountError(`${jid} is the default account (account.user), in use while the gateway runs: stop the gateway to remove it`);
    }
    if (!this.o.accounts.find(name)) throw new AccountError(`no account ${jid}`);
    const l = this.live.get(jid);
    this.live.delete(jid);
    await l?.onion?.stopping?.(l.network);
    // Its sessions end and its links close before its files and data go.
    await this.o.server.removeAccount(jid);
    return this.o.accounts.remove(name);
  }

  /** Withdraws the added accounts' onions (their networks stop with the server). */
  async stop(): Promise<void> {
    for (const l of this.live.values()) await l.onion?.stopping?.(l.network);
    this.live.clear();
  }

  async handle(req: AccountRequest): Promise<ControlResponse> {
    try {
      if (req.action === 'list') {
        const lines = await this.list();
        return { ok: true, text: accountsText(lines), data: lines };
      }
      if (req.action === 'add') {
        const info = await this.add(req.name, req.passwordFile);
        return { ok: true, text: `added ${info.jid}`, data: info };
      }
      const jid = await this.remove(req.name);
      return { ok: true, text: `removed ${jid}: its identity, keys, contacts, queue and history are deleted` };
    } catch (err) {
      if (err instanceof AccountError) return { ok: false, text: err.message };
      throw err;
    }
  }
}

function liveOf(network: TlsimNetwork): { share: string | null; peerPort: number | null } {
  const self = network.selfInfo();
  const listening = self.listening[0];
  return { share: self.share ?? null, peerPort: listening ? Number(listening.slice(listening.lastIndexOf(':') + 1)) : null };
}
