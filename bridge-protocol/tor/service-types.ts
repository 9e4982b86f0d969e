// TorService's public shapes: modes, states, status, events, options; and reading tor's SOCKS listener (research/tor.md §0.3, §7 pitfall 1).
import type { BackoffOptions } from '../peers/backoff.js';
import type { Logger } from '../logger.js';
import type { ControlAuthOptions } from './control-auth.js';
import { parseArgs } from './control-parse.js';
import type { ControlEndpoint, TorControl } from './control.js';
import type { LaunchOptions } from './launch.js';
import type { OnionKey } from './onion-key.js';

export type TorMode = 'launch' | 'control';
export type TorState = 'starting' | 'bootstrapping' | 'ready' | 'failed' | 'off';
export interface SocksEndpoint {
  host: string;
  port: number;
}

export interface TorStatus {
  mode: TorMode;
  state: TorState;
  bootstrap: { progress: number; summary: string; warning?: string };
  /** `<56 chars>.onion`, known from the key before tor runs. */
  onion?: string;
  /** Where to dial onions (SOCKS5); known once tor has bootstrapped. */
  socks?: SocksEndpoint;
}

export interface TorWarning {
  source: 'bootstrap' | 'tor' | 'control' | 'onion';
  message: string;
  /** source 'onion', about a publish()ed service (not ours): which one (`<id>.onion`). */
  onion?: string;
}

/** An onion service on our tor: the key we keep, and the listener behind it (`host:port` or `unix:/path`). */
export interface OnionSpec {
  key: OnionKey;
  target: string;
  /** The port peers dial on the onion address (default 18765). */
  virtualPort?: number;
  /** More ports of the same service, each to its own listener (e.g. 80 → the loopback GET /foaf listener). */
  extraPorts?: ReadonlyArray<{ virt: number; target: string }>;
}

export interface TorExitInfo {
  reason: string;
  code?: number | null;
  signal?: NodeJS.Signals | null;
}

export interface TorServiceEvents {
  [k: string]: (...args: any[]) => void;
  status: (status: TorStatus) => void;
  ready: (socks: SocksEndpoint) => void;
  /** A descriptor of ours or of a publish()ed service reached a directory (once per service and tor session). */
  published: (onion: string) => void;
  warning: (warning: TorWarning) => void;
  /** Our tor exited (mode 'launch') or the control connection was lost (mode 'control'); a restart follows. */
  exited: (info: TorExitInfo) => void;
}

/** The virtual port peers dial on our onion unless configured otherwise. */
export const DEFAULT_ONION_VIRTUAL_PORT = 18765;

export interface TorServiceOptions {
  mode: TorMode;
  /** mode 'launch': where and how to run our tor. */
  launch?: Omit<LaunchOptions, 'logger'>;
  /** mode 'control': a running tor (TCP or Unix socket such as /run/tor/control). */
  attach?: { endpoint: ControlEndpoint; auth?: ControlAuthOptions; socks?: SocksEndpoint };
  /** Our onion service: the key we keep, and our peer listener. More can come and go: publish()/unpublish(). */
  onion?: OnionSpec;
  /** mode 'launch': false keeps DisableNetwork 1 (tests that must never touch a network). Default true. */
  network?: boolean;
  /** No bootstrap progress for this long is reported as a warning with tor's own words (default 60 s). */
  bootstrapStallMs?: number;
  /** Relaunch / reconnect delays. */
  restart?: BackoffOptions;
  logger?: Logger;
}

/** The first TCP SOCKS listener from `GETINFO net/listeners/socks` (empty while DisableNetwork is 1). */
export async function readSocks(control: TorControl): Promise<SocksEndpoint | undefined> {
  const value = await control.getInfoOne('net/listeners/socks');
  for (const addr of parseArgs(value).positional) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):(\d+)$/.exec(addr);
    if (m) return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }
  return undefined;
}
