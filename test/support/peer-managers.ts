// PeerManagers for tests on loopback (direct dialer, listening on a free port), all stopped together.
import { createTlsContext, directDialer, PeerManager, type Identity, type PeerManagerOptions } from '../../bridge-protocol/index.js';

export interface ManagerPool {
  /** A new manager for `id`; options override the test defaults. */
  manager(id: Identity, opts?: Partial<PeerManagerOptions>): PeerManager;
  /** Stops every manager made so far (for afterEach/afterAll). */
  stopAll(): Promise<void>;
}

export function managerPool(defaults: Partial<PeerManagerOptions> = {}): ManagerPool {
  const made: PeerManager[] = [];
  return {
    manager(id, opts = {}) {
      const m = new PeerManager({
        tls: createTlsContext(id),
        dialerFor: () => directDialer(),
        listen: [{ host: '127.0.0.1', port: 0 }],
        ...defaults,
        ...opts,
      });
      made.push(m);
      return m;
    },
    async stopAll() {
      await Promise.all(made.splice(0).map((m) => m.stop()));
    },
  };
}
