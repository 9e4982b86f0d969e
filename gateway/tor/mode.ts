// Which Tor the gateway uses: tor.mode "auto" resolved at start (our own tor if the program is installed,
// else a running tor's control port, else none), and the control endpoint parsed (research/tor.md §0, §3).
import { accessSync, constants, statSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import type { ControlEndpoint } from '../bridge/peer-protocol.js';
import { parseAddress } from '../bridge/share-string.js';
import type { Config } from '../config.js';
import { ConfigError } from '../xmpp/errors.js';

/** What actually runs: "auto" is always resolved to one of these. */
export type EffectiveTorMode = 'launch' | 'control' | 'off';

export interface TorModeChoice {
  mode: EffectiveTorMode;
  /** For mode "launch": the tor program found on PATH. */
  torPath?: string;
  /** For mode "control". */
  endpoint?: ControlEndpoint;
  /** Said once (log and first-start text) when "auto" found no Tor at all. */
  notice?: string;
}

export interface ChooseTorModeOptions {
  /** PATH to look for `tor` in (default process.env.PATH). */
  path?: string | undefined;
  /** Is the control endpoint accepting connections? (injected by tests) */
  probe?: (endpoint: ControlEndpoint) => Promise<boolean>;
}

/** "/run/tor/control" or "127.0.0.1:9051" (already checked by the config). */
export function parseControlEndpoint(text: string): ControlEndpoint {
  if (text.startsWith('/')) return { path: text };
  const { host, port } = parseAddress(text);
  return { host, port };
}

export function describeControlEndpoint(e: ControlEndpoint): string {
  return 'path' in e ? e.path : e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** The first executable `name` on PATH, like `command -v`. */
export function findExecutable(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when something accepts a connection there within timeoutMs (nothing is sent). */
export function probeControlEndpoint(endpoint: ControlEndpoint, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = 'path' in endpoint ? net.connect({ path: endpoint.path }) : net.connect({ host: endpoint.host, port: endpoint.port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Resolves tor.mode. "launch" without a tor program fails now (ConfigError naming the key) rather than
 * looping on a spawn error; "control" is taken as given (TorService retries an endpoint that is down).
 */
export async function chooseTorMode(tor: Config['tor'], opts: ChooseTorModeOptions = {}): Promise<TorModeChoice> {
  const path = 'path' in opts ? opts.path : process.env.PATH;
  const endpoint = parseControlEndpoint(tor.control);
  switch (tor.mode) {
    case 'off':
      return { mode: 'off' };
    case 'control':
      return { mode: 'control', endpoint };
    case 'launch': {
      const torPath = findExecutable('tor', path);
      if (!torPath) {
        throw new ConfigError(
          'tor.mode',
          'is "launch", but there is no tor program on PATH: install it (Debian: apt-get install tor), ' +
            'or use tor.mode = "control" (a running tor) or "off"',
        );
      }
      return { mode: 'launch', torPath };
    }
    case 'auto': {
      const torPath = findExecutable('tor', path);
      if (torPath) return { mode: 'launch', torPath };
      if (await (opts.probe ?? probeControlEndpoint)(endpoint)) return { mode: 'control', endpoint };
      return {
        mode: 'off',
        notice:
          `Tor is not used: no tor program on PATH and no tor control port at ${describeControlEndpoint(endpoint)}. ` +
          'Peers can reach this gateway only directly (install tor, e.g. apt-get install tor, and restart to get an onion address).',
      };
    }
  }
}
