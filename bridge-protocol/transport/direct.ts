// Direct TCP dialer: plain connections to peers on a LAN, a VPN or an SSH-forwarded port (PROTOCOL.md "Transport").
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { PeerUnreachableError } from '../errors.js';
import { unreachableFromSocketError } from './errors-map.js';
import { bareHost, checkTimeout, formatAddress, guardDial, isOnionHost, type Dialer } from './types.js';

export const DEFAULT_DIRECT_TIMEOUT_MS = 15_000;

export interface DirectDialerDefaults {
  timeoutMs?: number;
  /** How the TCP connection is opened; tests inject a socket that never connects. */
  connect?: (opts: net.TcpNetConnectOpts) => net.Socket;
}

export function directDialer(defaults: DirectDialerDefaults = {}): Dialer {
  const defaultTimeout = checkTimeout(defaults.timeoutMs ?? DEFAULT_DIRECT_TIMEOUT_MS);
  const connect = defaults.connect ?? ((opts: net.TcpNetConnectOpts) => net.connect(opts));

  return (target, opts = {}) => {
    const address = formatAddress(target.host, target.port);
    // Resolving an .onion name through the system resolver leaks to the DNS which peer we are
    // about to talk to, and can never succeed: refuse before any lookup.
    if (isOnionHost(target.host)) {
      return Promise.reject(
        new PeerUnreachableError(`cannot reach ${address}: an .onion address can only be reached through Tor`, 'unsupported'),
      );
    }
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
      return Promise.reject(new PeerUnreachableError(`cannot reach ${address}: invalid port`, 'unsupported'));
    }
    const timeoutMs = checkTimeout(opts.timeoutMs ?? defaultTimeout);
    let socket: net.Socket | undefined;
    const guard = guardDial<Duplex>(() => `connecting to ${address}`, timeoutMs, opts.signal, () => socket?.destroy());
    if (guard.settled) return guard.promise;

    socket = connect({ host: bareHost(target.host), port: target.port });
    // Stays attached after a failure, so a late second error cannot crash the process.
    const onError = (err: Error): void => guard.reject(unreachableFromSocketError(err, address));
    socket.on('error', onError);
    socket.once('connect', () => {
      socket!.off('error', onError);
      guard.resolve(socket!);
    });
    return guard.promise;
  };
}
