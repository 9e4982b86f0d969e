// The daemon's part of the FOAF directory (issue 13): the loopback GET /foaf listener, the URL others fetch it at
// (our onion's second port, or loopback when every peer is on this machine), and the crawl settings from config.
import type { Logger } from 'pino';
import type { FoafSettings } from '../bridge/foaf-network.js';
import type { Config } from '../config.js';
import { startFoafServer, type FoafServer } from '../directory/http.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface DaemonFoaf {
  server?: FoafServer;
  /** For the default account's network. */
  settings: FoafSettings;
  /** The onion's second port, to the listener. */
  extraPorts?: Array<{ virt: number; target: string }>;
}

/** `turtle` is read at each request: the network it names exists once the daemon has built it. */
export async function startDaemonFoaf(config: Config, onion: string | undefined, turtle: () => string, log: Logger): Promise<DaemonFoaf> {
  const d = config.directory;
  const settings: FoafSettings = {
    rank: () => d.rank,
    crawl: () => ({ depth: d.depth, perHour: d.fetches_per_hour, maxDials: d.max_dials, staleMs: d.refresh_hours * 3_600_000 }),
  };
  if (!d.http) return { settings };
  const server = await startFoafServer({ host: '127.0.0.1', port: d.http_port, turtle, log: log.child({ component: 'foaf' }) });
  const port = d.onion_port === 80 ? '' : `:${d.onion_port}`;
  const url = onion ? `http://${onion}${port}/foaf` : LOOPBACK.has(config.peer.advertise_host) ? `http://127.0.0.1:${server.port}/foaf` : undefined;
  return {
    server,
    settings: { ...settings, profileUrl: () => url },
    ...(onion && { extraPorts: [{ virt: d.onion_port, target: `127.0.0.1:${server.port}` }] }),
  };
}
