// The gateway's Tor: a TorService (our own tor, or a running one's control port) publishing our onion in
// front of the peer listener, its progress told in the log, in `status` and, when it goes wrong, to the user.
// In component mode it has no onion of its own: each user's is publish()ed on its service (user-onions.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  TorService,
  loadOrCreateOnionKey,
  onionKeyFromPem,
  type OnionKey,
  type SocksEndpoint,
  type TorExitInfo,
  type TorServiceOptions,
  type TorStatus,
  type TorWarning,
} from '../bridge/peer-protocol.js';
import { formatAddress, parseAddress } from '../bridge/share-string.js';
import type { TorDialState } from '../bridge/tor-dialer.js';
import type { Config } from '../config.js';
import { describeControlEndpoint, type TorModeChoice } from './mode.js';

export const ONION_KEY_FILE = 'onion-key.pem';
export const TOR_DATA_DIR = 'tor';

/** Test and embedding hooks: never config keys (a user's tor must not be pointed at a private network by a file). */
export interface GatewayTorHooks {
  /** More `--Key value` options for our tor (tests: TestingTorNetwork 1 and DirAuthority lines). */
  extraOptions?: ReadonlyArray<readonly [string, string]>;
  /** false keeps our tor offline (DisableNetwork 1): tests that must never reach a network. */
  network?: boolean;
  bootstrapStallMs?: number;
  restart?: TorServiceOptions['restart'];
}

export type TorStateJson = TorStatus['state'] | 'stopped';

/** `status --json` → `tor`; scripts read tor.state, tor.onion and tor.bootstrap. */
export interface TorStatusJson {
  /** What runs ("auto" resolved) while running; the configured mode when stopped. */
  mode: Config['tor']['mode'];
  state: TorStateJson;
  bootstrap: { progress: number; summary: string; warning?: string } | null;
  /** `<56 chars>.onion`; known from our key, before tor even runs. Null in component mode (users have their own). */
  onion: string | null;
  /** Our onion service descriptor reached a directory since tor last (re)started. */
  published: boolean;
  /** "host:port" of tor's SOCKS listener, once tor is ready. */
  socks?: string;
  /** Times tor went away and was started again. */
  restarts: number;
  /** Why Tor is not used ("auto" found none), or the last thing that went wrong. */
  notice?: string;
  /** Component mode: users' onion services on our tor (one per user whose links are up), and how many are published. */
  onions?: { kept: number; published: number };
}

/** ADD_ONION's target for a peer listener ("0.0.0.0:port" → "127.0.0.1:port": tor connects locally). */
export function onionTarget(listening: string): string {
  const a = parseAddress(listening);
  const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
  return formatAddress({ host, port: a.port });
}

export function onionKeyPath(dataDir: string): string {
  return join(dataDir, ONION_KEY_FILE);
}

export async function loadGatewayOnionKey(dataDir: string): Promise<OnionKey> {
  return loadOrCreateOnionKey(onionKeyPath(dataDir));
}

export interface GatewayTorOptions {
  choice: TorModeChoice & { mode: 'launch' | 'control' };
  tor: Config['tor'];
  dataDir: string;
  /** Our onion service's key; without it (component mode) tor runs for the onions publish()ed on `service`. */
  key?: OnionKey;
  /** Our peer listener as ADD_ONION's target: "127.0.0.1:port" (with `key`). */
  target?: string;
  /** More ports of our onion (the FOAF profile's GET /foaf listener behind port 80). */
  extraPorts?: ReadonlyArray<{ virt: number; target: string }>;
  log: Logger;
  /** A line to the XMPP user(s) from the gateway contact; `onion` when it is about that service only. */
  notify: (text: string, onion?: string) => void;
  /** Tor is (again) ready to dial through. */
  onReady?: () => void;
  hooks?: GatewayTorHooks;
}

/** Started by the daemon after the peer listener is up; never awaited for bootstrap (XMPP works meanwhile). */
export class GatewayTor implements TorDialState {
  readonly service: TorService;
  private readonly log: Logger;
  private restarts = 0;
  private published = false;
  private lastProgress = -1;
  /** One XMPP notice per trouble until tor is ready again (a stuck bootstrap repeats every minute). */
  /** Troubles users were told about (an onion's service id, or '' for tor itself), until tor is ready again. */
  private readonly told = new Set<string>();
  private lastProblem: string | undefined;

  /**
   * More ports on our onion besides the configured extras (the rooms the gateway hosts, each at its own port):
   * tor re-adds the service with them.
   */
  setMorePorts(ports: ReadonlyArray<{ virt: number; target: string }>): Promise<void> {
    return this.service.setOwnExtraPorts([...(this.o.extraPorts ?? []), ...ports]);
  }

  constructor(private readonly o: GatewayTorOptions) {
    this.log = o.log;
    const hooks = o.hooks ?? {};
    this.service = new TorService({
      mode: o.choice.mode,
      ...(o.choice.mode === 'launch'
        ? {
            launch: {
              dataDir: join(o.dataDir, TOR_DATA_DIR),
              torPath: o.choice.torPath,
              // tor.all dials ordinary hosts through Tor too, which OnionTrafficOnly would refuse.
              onionTrafficOnly: !o.tor.all,
              extraOptions: hooks.extraOptions,
            },
          }
        : {
            attach: {
              endpoint: o.choice.endpoint!,
              auth: o.tor.control_password_file ? { passwordFile: o.tor.control_password_file } : {},
            },
          }),
      ...(o.key && o.target !== undefined && { onion: { key: o.key, target: o.target, virtualPort: o.tor.virtual_port, ...(o.extraPorts && { extraPorts: o.extraPorts }) } }),
      ...(hooks.network !== undefined && { network: hooks.network }),
      ...(hooks.bootstrapStallMs !== undefined && { bootstrapStallMs: hooks.bootstrapStallMs }),
      ...(hooks.restart !== undefined && { restart: hooks.restart }),
      logger: o.log,
    });
    this.service.on('status', (s) => this.onStatus(s));
    this.service.on('ready', (socks) => this.onReady(socks));
    this.service.on('published', (onion) => this.onPublished(onion));
    this.service.on('warning', (w) => this.onWarning(w));
    this.service.on('exited', (e) => this.onExited(e));
  }

  /** Our own onion (`<56 chars>.onion`), if we have one. */
  get onion(): string | undefined {
    return this.o.key && `${this.o.key.serviceId}.onion`;
  }

  /** Resolves after the first attempt to start tor, whatever its outcome (the service keeps retrying). */
  async start(): Promise<void> {
    const where = this.o.choice.mode === 'launch' ? `our own tor (${this.o.choice.torPath ?? 'tor'})` : `the tor at ${describeControlEndpoint(this.o.choice.endpoint!)}`;
    this.log.info({ onion: this.onion ?? null, mode: this.o.choice.mode, target: this.o.target ?? null }, `starting Tor: ${where}`);
    await this.service.start();
  }

  stop(): Promise<void> {
    return this.service.stop();
  }

  socks(): SocksEndpoint | undefined {
    return this.service.socks;
  }

  whyNot(): string {
    const s = this.service.status();
    if (s.state === 'failed') return `Tor is not running (${s.bootstrap.warning ?? 'it failed to start'})`;
    if (s.state === 'off') return 'Tor is not running';
    return `Tor is not ready yet (${s.state}, ${s.bootstrap.progress}%: ${s.bootstrap.summary})`;
  }

  status(): TorStatusJson {
    const s = this.service.status();
    return {
      mode: s.mode,
      state: s.state,
      bootstrap: s.bootstrap,
      onion: this.onion ?? null,
      published: this.published,
      ...(s.socks && { socks: `${s.socks.host}:${s.socks.port}` }),
      restarts: this.restarts,
      ...(this.lastProblem !== undefined && { notice: this.lastProblem }),
    };
  }

  private onStatus(s: TorStatus): void {
    const b = s.bootstrap;
    if (b.progress !== this.lastProgress && (s.state === 'bootstrapping' || s.state === 'ready')) {
      this.lastProgress = b.progress;
      this.log.info({ progress: b.progress, summary: b.summary }, `tor bootstrap ${b.progress}%: ${b.summary}`);
    }
  }

  private onReady(socks: SocksEndpoint): void {
    this.told.clear();
    this.lastProblem = undefined;
    this.log.info({ socks: `${socks.host}:${socks.port}` }, 'tor is ready: onion peers can be dialed');
    this.o.onReady?.();
  }

  private onPublished(onion: string): void {
    if (onion !== this.onion) return; // another service on our tor: its owner tells
    const again = this.published || this.restarts > 0;
    this.published = true;
    this.log.info({ onion }, again ? 'onion service published again (same address)' : 'onion service published: peers can reach us');
  }

  private onWarning(w: TorWarning): void {
    this.lastProblem = w.message;
    this.log.warn({ source: w.source }, w.message);
    const about = w.onion ?? '';
    if (this.told.has(about)) return;
    this.told.add(about);
    const what = w.source === 'bootstrap' ? 'Tor is not connecting' : 'Tor has a problem';
    this.o.notify(`${what}: ${w.message}. Onion peers cannot be reached until it recovers; I keep trying.`, w.onion);
  }

  private onExited(e: TorExitInfo): void {
    this.restarts++;
    this.published = false;
    this.lastProgress = -1;
    this.lastProblem = e.reason;
    const after = this.onion ? 'same onion address' : 'the onion services are added again';
    this.log.warn({ code: e.code, signal: e.signal, restarts: this.restarts }, `tor stopped unexpectedly (${e.reason}); starting it again, ${after}`);
  }
}

/** `tor` when the gateway is not running: mode from the config, and the onion if our key exists. */
export async function stoppedTorStatus(tor: Config['tor'], dataDir: string): Promise<TorStatusJson> {
  let onion: string | null = null;
  if (tor.mode !== 'off') {
    try {
      onion = `${onionKeyFromPem(await readFile(onionKeyPath(dataDir), 'utf8')).serviceId}.onion`;
    } catch {
      onion = null;
    }
  }
  return { mode: tor.mode, state: 'stopped', bootstrap: null, onion, published: false, restarts: 0 };
}
