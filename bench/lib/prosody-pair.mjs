// Two Debian Prosody servers (run as the prosody user by test/support/prosody.ts) federating over
// s2s on loopback with TLS: a@a.localhost and b@b.localhost. s2s reaches the other domain through
// bench/prosody/mod_bench_s2s_static.lua (see there why); certificates are not trusted across the
// two local CAs, so the servers authenticate each other with dialback over the TLS-encrypted s2s
// streams (s2s_require_encryption = true, Prosody's default).
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, built, onCleanup } from './common.mjs';
import { XmppLoadClient } from './xmpp-load.mjs';

export const PASSWORD = 'bench-password-1';

export async function prosodyPair() {
  const { startProsody } = await built('test/support/prosody.js');
  const { freePort } = await built('test/support/net.js');
  const plugins = mkdtempSync(join(tmpdir(), 'tlsim-bench-prosody-plugins-'));
  chmodSync(plugins, 0o755);
  copyFileSync(join(BENCH_DIR, 'prosody/mod_bench_s2s_static.lua'), join(plugins, 'mod_bench_s2s_static.lua'));
  chmodSync(join(plugins, 'mod_bench_s2s_static.lua'), 0o644);
  onCleanup(() => rmSync(plugins, { recursive: true, force: true }));
  const s2s = { 'a.localhost': await freePort(), 'b.localhost': await freePort() };
  const routes = Object.entries(s2s).map(([d, p]) => `["${d}"] = { "127.0.0.1", ${p} }`).join(', ');
  const start = async (domain, user) => {
    const server = await startProsody({
      domain,
      users: { [user]: PASSWORD },
      logLevel: 'warn',
      extraConfig: `
plugin_paths = { ${JSON.stringify(plugins)} }
s2s_ports = { ${s2s[domain]} }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "smacks", "websocket", "version", "time", "dialback", "bench_s2s_static" }
modules_disabled = { "offline", "posix" }
bench_s2s_routes = { ${routes} }
s2s_require_encryption = true
s2s_secure_auth = false
-- (the options above repeat ones of test/support/prosody.ts on purpose: the last one counts; Prosody warns "Duplicate option")
`,
    });
    onCleanup(() => server.stop());
    return server;
  };
  const [a, b] = await Promise.all([start('a.localhost', 'a'), start('b.localhost', 'b')]);
  return { a, b };
}

export async function loginProsody(server, user) {
  const c = await XmppLoadClient.login({ port: server.c2sPort, domain: server.domain, user, password: PASSWORD });
  onCleanup(() => c.close());
  return c;
}
