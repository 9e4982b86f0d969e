// The real `tlsim-gateway` program in component mode, set up only by environment variables as a
// systemd unit would: it attaches to a real Prosody, `status` tells the component's state, a
// missing secret is a clear error at start, the secret never shows, SIGTERM stops it cleanly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { cliHome, runToEnd, useBuiltCli, type CliHome } from '../support/cli-program.js';
import { killAll, spawnProc, type Proc } from '../support/proc.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { interopSuite } from '../support/tools.js';

const CLI = useBuiltCli('component');
const T = 60_000;
const DOMAIN = 'gw.localhost';
const SECRET = 'the-component-secret-42';

interopSuite('tlsim-gateway run in component mode (real Prosody)', ['prosody', 'slixmpp'], () => {
  let prosody: ProsodyServer;
  let h: CliHome;
  let gw: Proc;
  let annFingerprint = '';
  const clients: SlixmppClient[] = [];
  const env = (): NodeJS.ProcessEnv => ({
    ...h.env,
    TLSIM_GATEWAY_MODE: 'component',
    TLSIM_COMPONENT_PORT: String(prosody.componentPort),
    TLSIM_COMPONENT_DOMAIN: DOMAIN,
    TLSIM_PEER_PORT: '0',
  });

  beforeAll(async () => {
    prosody = await startProsody({ components: { [DOMAIN]: SECRET }, users: { ann: 'ann-pw' } });
    h = cliHome('tlsim-cli-component');
  }, T);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await killAll();
    await prosody?.stop();
  }, T);

  it('refuses to start without the secret, and says where to put it', async () => {
    const r = await runToEnd(process.execPath, [CLI, 'run'], { env: env(), timeout: T });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/component\.secret.*TLSIM_COMPONENT_SECRET or component\.secret_file/);
  });

  describe('with the secret in the environment', () => {
    beforeAll(async () => {
      gw = await spawnProc(process.execPath, [CLI, 'run'], { env: { ...env(), TLSIM_COMPONENT_SECRET: SECRET }, stdin: 'ignore' });
      await gw.waitFor(/"msg":"component connected"/, T);
    }, T);

    it('status shows the component connected to the server, with no user yet', async () => {
      const r = await runToEnd(process.execPath, [CLI, 'status', '--json'], { env: env(), timeout: T });
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ running: true, pid: gw.pid, component: { domain: DOMAIN, server: `127.0.0.1:${prosody.componentPort}`, connected: true, lastError: null, users: 0 } });
      const text = await runToEnd(process.execPath, [CLI, 'status'], { env: env(), timeout: T });
      expect(text.stdout).toContain(`component:    ${DOMAIN} on 127.0.0.1:${prosody.componentPort}, connected`);
    });

    it('users lists a registered user with her fingerprint, from the running gateway and from disk once stopped', async () => {
      const client = await SlixmppClient.start();
      clients.push(client);
      await client.connect({ jid: `ann@${prosody.domain}`, password: 'ann-pw', port: prosody.c2sPort, ca_file: prosody.tls.caCertFile });
      await client.request({ cmd: 'register', to: DOMAIN });
      const live = await runToEnd(process.execPath, [CLI, 'users', '--json'], { env: env(), timeout: T });
      expect(live.code, live.stderr).toBe(0);
      const users = JSON.parse(live.stdout);
      expect(users).toHaveLength(1);
      expect(users[0]).toMatchObject({ jid: `ann@${prosody.domain}`, linked: true, contacts: 0, queued: 0 });
      expect(users[0].fingerprint).toMatch(/^[0-9a-f]{64}$/);
      annFingerprint = users[0].fingerprint;
    });

    it('never prints the secret, and stops cleanly on SIGTERM', async () => {
      gw.signal('SIGTERM');
      const exit = await gw.exited;
      expect(exit.code).toBe(0);
      expect(gw.output()).toContain('gateway stopped');
      expect(gw.output()).not.toContain(SECRET);
      const stopped = await runToEnd(process.execPath, [CLI, 'users'], { env: env(), timeout: T });
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toBe(`ann@${prosody.domain}  ${annFingerprint}  not linked, 0 contacts, 0 queued\n`);
    });
  });
});
