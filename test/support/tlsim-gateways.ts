// Gateways' peer networks over real tlsim links for bridge tests: each with its own store, identity and port,
// a RecordingSink (or the test's own), stopped and closed by stopTlsimGateways() after each test.
import pino from 'pino';
import type { Identity } from '../../bridge-protocol/index.js';
import { TlsimNetwork, type UnknownPeerPolicy } from '../../gateway/bridge/tlsim-network.js';
import { openStore, type Store, type StoreLimits } from '../../gateway/store/index.js';
import { tmpDir } from './identities.js';
import { freePort } from './net.js';
import { RecordingSink } from './recording-sink.js';

const log = pino({ level: 'silent' });

export interface TlsimGateway<S extends RecordingSink = RecordingSink> {
  net: TlsimNetwork;
  sink: S;
  store: Store;
  accountId: number;
  identity: Identity;
  port: number;
  dir: string;
}

export interface TlsimGatewayOptions<S extends RecordingSink> {
  policy?: UnknownPeerPolicy;
  port?: number;
  dir?: string;
  limits?: Partial<StoreLimits>;
  sink?: S;
}

const running: TlsimGateway<RecordingSink>[] = [];

export async function tlsimGateway<S extends RecordingSink = RecordingSink>(
  identity: Identity,
  opts: TlsimGatewayOptions<S> = {},
): Promise<TlsimGateway<S>> {
  const dir = opts.dir ?? tmpDir('bridge');
  const store = openStore(dir, opts.limits ? { limits: opts.limits } : {});
  const port = opts.port ?? (await freePort());
  const accountId = store.accounts.ensure('me@localhost');
  const net = new TlsimNetwork({
    store,
    accountId,
    identity,
    log,
    listen: { host: '127.0.0.1', port },
    unknownPolicy: opts.policy ?? 'ask',
    peerOptions: { backoff: { initialMs: 200, maxMs: 1_000 } },
  });
  const sink = opts.sink ?? (new RecordingSink() as S);
  await net.start(sink);
  const gw = { net, sink, store, accountId, identity, port, dir };
  running.push(gw);
  return gw;
}

export async function stopTlsimGateway(gw: TlsimGateway<RecordingSink>): Promise<void> {
  running.splice(running.indexOf(gw), 1);
  await gw.net.stop();
  gw.store.close();
}

/** For afterEach: every gateway still running. */
export async function stopTlsimGateways(): Promise<void> {
  for (const gw of [...running]) await stopTlsimGateway(gw);
}
