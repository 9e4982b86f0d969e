// A transport-mode gateway for end-to-end tests: in process through startComponentGateway, the
// config loaded the real way (file + TLSIM_COMPONENT_SECRET), logs kept in memory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../gateway/config.js';
import { startComponentGateway, type RunningComponentGateway, type StartComponentOptions } from '../../../gateway/component/start.js';
import { tmpDir } from '../../support/identities.js';
import { LogCapture } from './gateway.js';

export interface ComponentGatewayOptions {
  domain: string;
  secret: string;
  /** The server's component port. */
  port: number;
  /** Base of the users' peer ports (user N listens on base + N); fixed so a restart keeps share strings. */
  peerPortBase: number;
  dataDir?: string;
  peerSession?: 'presence' | 'always';
  graceMs?: number;
  /** Our own tor (tor.mode = "launch") with these hooks (a private network's options); default Tor off. */
  tor?: NonNullable<StartComponentOptions['tor']>;
}

export interface E2eComponentGateway {
  running: RunningComponentGateway;
  dataDir: string;
  log: LogCapture;
  stop(): Promise<void>;
}

export async function startComponentE2e(opts: ComponentGatewayOptions): Promise<E2eComponentGateway> {
  const dataDir = opts.dataDir ?? join(tmpDir('tlsim-e2e-component'), 'data');
  const configPath = join(tmpDir('tlsim-e2e-component-config'), 'config.toml');
  writeFileSync(
    configPath,
    `mode = "component"\n[component]\nserver = "127.0.0.1"\nport = ${opts.port}\ndomain = "${opts.domain}"\n` +
      `peer_session = "${opts.peerSession ?? 'presence'}"\n[peer]\nport = ${opts.peerPortBase}\nunknown_policy = "ask"\n` +
      `[tor]\nmode = "${opts.tor ? 'launch' : 'off'}"\n[log]\nlevel = "debug"\n`,
  );
  const config = await loadConfig({ configPath, env: { TLSIM_COMPONENT_SECRET: opts.secret } });
  const log = new LogCapture();
  const running = await startComponentGateway({
    config,
    dataDir,
    configPath,
    log: log.logger,
    graceMs: opts.graceMs,
    backoff: { firstMs: 200, maxMs: 2_000 },
    ...(opts.tor && { tor: opts.tor }),
  });
  return { running, dataDir, log, stop: () => running.stop() };
}
