// Turns "address in use" and friends from any of the three listeners into a message naming the port,
// the config key and the flag that change it: the first thing a user on a busy machine meets.
import type { Config, ConfigKey } from '../config.js';

export class ListenError extends Error {
  constructor(
    message: string,
    readonly key: ConfigKey | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ListenError';
  }
}

const LISTENERS: Array<{ key: ConfigKey; flag: string; what: string; host: (c: Config) => string; port: (c: Config) => number }> = [
  { key: 'c2s.port', flag: '--c2s-port', what: 'XMPP client', host: (c) => c.c2s.host, port: (c) => c.c2s.port },
  { key: 'peer.port', flag: '--peer-port', what: 'peer', host: (c) => c.peer.host, port: (c) => c.peer.port },
  { key: 'websocket.port', flag: '--websocket-port', what: 'WebSocket', host: (c) => c.websocket.host, port: (c) => c.websocket.port },
];

/** A ListenError for a listen failure, or the error unchanged when it is something else. */
export function explainListenError(err: unknown, config: Config, configFile: string | undefined): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (!e || (e.code !== 'EADDRINUSE' && e.code !== 'EACCES' && e.code !== 'EADDRNOTAVAIL')) return err;
  const l = LISTENERS.find((x) => x.port(config) === e.port && x.port(config) !== 0);
  const where = `${e.address ?? (l ? l.host(config) : '?')}:${e.port ?? '?'}`;
  const why =
    e.code === 'EADDRINUSE'
      ? 'is already in use (another program, or another tlsim-gateway, listens there)'
      : e.code === 'EACCES'
        ? 'may not be used by this user (ports below 1024 need privileges)'
        : 'is not an address of this machine';
  const fix = l
    ? `; choose another with ${l.flag} <port> or ${l.key} in ${configFile ?? 'the config file'} (0 picks a free port)`
    : '';
  return new ListenError(`the ${l?.what ?? ''}${l ? ' ' : ''}listener cannot use ${where}: it ${why}${fix}`, l?.key, { cause: err });
}
