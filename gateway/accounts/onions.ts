// One tor for the whole gateway and, for each account with an identity of its own, an onion service in front of
// its peer listener, up while its links are up: the transport mode's users (the tor has no onion of its own), and
// the local mode's added accounts (beside the default account's onion, which the tor publishes itself).
import type { Logger } from 'pino';
import { isOnionHost, type OnionKey } from '../bridge/peer-protocol.js';
import type { TlsimNetwork, TlsimNetworkOptions } from '../bridge/tlsim-network.js';
import { ONION_DIAL_TIMEOUT_MS, torAwareDialerFor } from '../bridge/tor-dialer.js';
import type { Config } from '../config.js';
import { GatewayTor, onionTarget, type GatewayTorHooks, type TorStatusJson } from '../tor/gateway-tor.js';
import type { TorModeChoice } from '../tor/mode.js';
import type { PeerSessionHooks } from '../component/peer-session.js';
import type { RegisteredUser } from './registry.js';

export interface UserOnionsOptions {
  choice: TorModeChoice & { mode: 'launch' | 'control' };
  tor: Config['tor'];
  /** The gateway's data directory: our tor's own lives in `tor/` there. */
  dataDir: string;
  log: Logger;
  hooks?: GatewayTorHooks;
  /** (Additive) Local mode: the default account's onion, published by the tor itself; its tor notices go to that account. */
  own?: { key: OnionKey; target: string; jid: string; network: TlsimNetwork; log: Logger; extraPorts?: ReadonlyArray<{ virt: number; target: string }> };
}

/** What makes a user's network reachable at their onion and able to dial onions. */
type UserTorNetworkOptions = Required<Pick<TlsimNetworkOptions, 'advertise' | 'transport' | 'dialerFor' | 'peerOptions'>>;

interface LiveUser {
  jid: string;
  network: TlsimNetwork;
  log: Logger;
}

export class UserOnions {
  readonly tor: GatewayTor;
  /** Users whose links, and so whose onion services, are up: by service id. */
  private readonly live = new Map<string, LiveUser>();

  constructor(private readonly o: UserOnionsOptions) {
    this.tor = new GatewayTor({
      choice: o.choice,
      tor: o.tor,
      dataDir: o.dataDir,
      log: o.log,
      notify: (text, onion) => this.notify(text, onion),
      // Dials that failed while tor was away have grown long backoffs: try them again now.
      onReady: () => {
        for (const u of this.live.values()) u.network.redial((a) => o.tor.all || isOnionHost(a.host));
      },
      ...(o.hooks && { hooks: o.hooks }),
      ...(o.own && { key: o.own.key, target: o.own.target, ...(o.own.extraPorts && { extraPorts: o.own.extraPorts }) }),
    });
    if (o.own) this.live.set(o.own.key.serviceId, { jid: o.own.jid, network: o.own.network, log: o.own.log });
    this.tor.service.on('published', (onion) => this.onPublished(onion));
  }

  /** Resolves after the first attempt to start tor (never awaited for bootstrap: the component works meanwhile). */
  start(): Promise<void> {
    return this.tor.start();
  }

  stop(): Promise<void> {
    return this.tor.stop();
  }

  /** Tor as it runs (no onion of the gateway's own), and how many users' onions it carries. */
  status(): TorStatusJson {
    const ids = this.tor.service.onionServiceIds();
    return { ...this.tor.status(), onions: { kept: ids.length, published: ids.filter((id) => this.tor.service.isPublished(id)).length } };
  }

  /** Share string `tlsim://<fp>@<their onion>:<virtual_port>`; onions dialed through our tor. */
  networkOptions(user: RegisteredUser): UserTorNetworkOptions {
    const key = user.onionKey;
    return {
      advertise: { host: `${key.serviceId}.onion`, port: this.o.tor.virtual_port },
      transport: 'tor',
      dialerFor: torAwareDialerFor({ tor: this.tor, all: this.o.tor.all }),
      // The dialer keeps direct connects at 30 s; onions get tor's own SocksTimeout.
      peerOptions: { dialTimeoutMs: ONION_DIAL_TIMEOUT_MS + 5_000 },
    };
  }

  /** The user's onion follows their links: added once their listener is up, withdrawn before it closes. */
  sessionHooks(user: RegisteredUser, log: Logger): PeerSessionHooks {
    let serviceId: string | undefined;
    return {
      started: async (network) => {
        const listening = network.selfInfo().listening[0];
        if (!listening) {
          log.warn('no peer listener: the onion service is not published');
          return;
        }
        const key = user.onionKey;
        const target = onionTarget(listening);
        const onion = `${key.serviceId}.onion`;
        const id = (serviceId = key.serviceId);
        this.live.set(serviceId, { jid: user.account.jid, network, log });
        // The user's hosted rooms are more ports of the same onion, each at its own number (their share strings name it).
        const virtualPort = this.o.tor.virtual_port;
        const hosting = network.rooms.hosting;
        const spec = () => ({ key, target, virtualPort, extraPorts: hosting?.onionPorts().filter((p) => p.virt !== virtualPort) ?? [] });
        // Not awaited: a registration is answered without waiting on tor (a wedged one takes 30 s to time out).
        this.tor.service.publish(spec()).then(
          () => log.info({ onion, target }, 'onion service kept on our tor: published once tor has uploaded its descriptor'),
          // Remembered all the same: tried again whenever tor restarts.
          (err: Error) => log.warn({ onion, err: err.message }, 'tor refused the onion service: peers cannot reach this user for now'),
        );
        // A room hosted or unhosted: the onion is added again with the new list (tor cannot change a service's ports).
        if (hosting) {
          hosting.portsChanged = () => {
            if (serviceId !== id) return;
            this.tor.service.publish(spec()).catch((err: Error) => log.warn({ onion, err: err.message }, 'hosted rooms not (re)published on the onion'));
          };
        }
      },
      stopping: async (network) => {
        if (network.rooms.hosting) network.rooms.hosting.portsChanged = undefined;
        if (!serviceId) return;
        const id = serviceId;
        serviceId = undefined;
        this.live.delete(id);
        await this.tor.service.unpublish(id);
        log.info({ onion: `${id}.onion` }, 'onion service withdrawn');
      },
    };
  }

  private onPublished(onion: string): void {
    const u = this.live.get(onion.replace(/\.onion$/, ''));
    u?.log.info({ onion }, 'onion service published: peers can reach this user');
  }

  /** Tor trouble: to the user whose onion it is about (nobody, if their links are down), else to every user whose links are up. */
  private notify(text: string, onion?: string): void {
    if (onion === undefined) {
      for (const u of this.live.values()) u.network.notice(text);
      return;
    }
    this.live.get(onion.replace(/\.onion$/, ''))?.network.notice(text);
  }
}
