// The status page and web chat as the daemon starts it: auth, live feed and HTTPS listener wired to
// the running gateway. Not fatal: a gateway whose page cannot bind keeps carrying messages.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { TlsimNetwork } from '../bridge/tlsim-network.js';
import type { StatusJson } from '../daemon/status.js';
import type { AccountId, Store } from '../store/index.js';
import type { LocalAccount } from '../xmpp/local-account.js';
import type { ServerTls } from '../xmpp/local-ca.js';
import type { UploadStore } from '../files/upload-store.js';
import { WebAuth } from './auth.js';
import { StatusFeed } from './events.js';
import type { LogRing } from './log-ring.js';
import { WebServer } from './server.js';

export { LogRing } from './log-ring.js';
export type { WebServer } from './server.js';

export interface StartWebOptions {
  host: string;
  port: number;
  tls: ServerTls;
  account: LocalAccount;
  network: TlsimNetwork;
  peerDomain: string;
  store: Store;
  accountId: AccountId;
  status(): StatusJson;
  logRing?: LogRing;
  /** The WebSocket listener's live allow-list: the page's origins are added to it once the port is known. */
  websocketOrigins?: string[];
  /** (Additive) XEP-0363 files served on this listener. */
  uploads?: UploadStore;
  log: Logger;
}

export async function startWeb(opts: StartWebOptions): Promise<WebServer | undefined> {
  let lastId = opts.store.archive.lastId();
  const feed = new StatusFeed({
    status: opts.status,
    contacts: () => opts.network.listContacts(),
    ...(opts.logRing && { log: opts.logRing }),
    countMessages: () => {
      const n = opts.store.archive.countSince(opts.accountId, lastId);
      lastId = n.lastId;
      return n;
    },
  });
  const web = new WebServer({
    host: opts.host,
    port: opts.port,
    tls: opts.tls,
    auth: new WebAuth({ verifyPassword: (p) => opts.account.verifyPassword(p) }),
    feed,
    commands: { network: opts.network, peerDomain: opts.peerDomain },
    websocketPort: () => opts.status().websocketPort ?? undefined,
    chatConfig: async () => {
      const s = opts.status();
      if (!s.websocketPort) return undefined;
      const password = (await readFile(s.passwordFile, 'utf8')).trim();
      return { jid: s.jid, password, websocketUrl: `ws://127.0.0.1:${s.websocketPort}/` };
    },
    ...(opts.uploads && { uploads: opts.uploads }),
    log: opts.log,
  });
  try {
    await web.listen();
  } catch (err) {
    opts.log.warn({ err, port: opts.port }, `the status page could not listen on ${opts.host}:${opts.port}; the gateway runs without it (set web.port)`);
    return undefined;
  }
  opts.websocketOrigins?.push(...web.origins());
  return web;
}
