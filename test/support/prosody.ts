// A private Prosody for interop tests (own config, data dir, ports, local CA; run as the prosody user, stopped by PID).
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from './identities.js';
import { freePort, waitForPort } from './net.js';
import { spawnProc, type Proc } from './proc.js';

const run = promisify(execFile);

export interface LocalCa {
  /** PEM of the CA that signed the server certificate: what a client must trust. */
  caCertFile: string;
  caKeyFile: string;
  /** Server certificate (SAN DNS names and 127.0.0.1) and its key. */
  certFile: string;
  keyFile: string;
}

/**
 * A throwaway CA and a server certificate it signed, made by openssl in `dir` (the way a user
 * would make a local CA, mkcert-style): clients that trust `caCertFile` verify the server.
 */
export async function makeLocalCa(dir: string, names: string[] = ['localhost']): Promise<LocalCa> {
  const caKeyFile = join(dir, 'ca.key');
  const caCertFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const extFile = join(dir, 'server.ext');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKeyFile, '-out', caCertFile,
    '-days', '30', '-subj', '/CN=tlsim test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${names[0]}`]);
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  writeFileSync(extFile, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', [
    'x509', '-req', '-in', csrFile, '-CA', caCertFile, '-CAkey', caKeyFile, '-CAcreateserial',
    '-out', certFile, '-days', '30', '-extfile', extFile,
  ]);
  return { caCertFile, caKeyFile, certFile, keyFile };
}

export interface ProsodyOptions {
  /** VirtualHost name. Default 'localhost'. */
  domain?: string;
  /** Users to register before start: { name: password }. */
  users?: Record<string, string>;
  /** Require TLS before auth (Prosody's default is true). */
  requireEncryption?: boolean;
  /** Also accept PLAIN on unencrypted streams (for clients run with TLS off). */
  allowUnencryptedPlain?: boolean;
  /** Prosody log level on stderr. Default 'info'. */
  logLevel?: 'debug' | 'info' | 'warn';
  /** Extra Lua appended to the global section. */
  extraConfig?: string;
  /** XEP-0114 components: { domain: secret }, served on `componentPort` (127.0.0.1). */
  components?: Record<string, string>;
  /**
   * Components granted users' rosters, outgoing messages and publishing to their PEP (XEP-0356, mod_privilege from
   * prosody-modules; the host then has PEP, mod_pep).
   */
  privileged?: string[];
}

export interface ProsodyServer {
  /** The running prosody (a new one after restart()). */
  readonly proc: Proc;
  dir: string;
  configFile: string;
  domain: string;
  c2sPort: number;
  httpPort: number;
  /** ws://127.0.0.1:httpPort/xmpp-websocket */
  websocketUrl: string;
  /** The XEP-0114 component port; 0 when no `components` were asked for (nothing listens). */
  componentPort: number;
  tls: LocalCa;
  register(user: string, password: string): Promise<void>;
  /** Kills prosody and starts it again with the same config, data and ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function lua(s: string): string {
  return JSON.stringify(s); // a JSON string of ASCII paths is a valid Lua string literal
}

async function prosodyctl(configFile: string, args: string[]): Promise<void> {
  try {
    await run('runuser', ['-u', 'prosody', '--', 'prosodyctl', '--config', configFile, ...args], { timeout: 30_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`prosodyctl ${args[0]} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * Starts Prosody in the foreground as the prosody user, on free loopback ports, with STARTTLS
 * (certificate from a fresh local CA), SCRAM-SHA-1/-256 and PLAIN (internal_plain storage),
 * roster, disco, ping, stream management and WebSocket at /xmpp-websocket.
 */
export async function startProsody(opts: ProsodyOptions = {}): Promise<ProsodyServer> {
  // A free port is only free until someone binds it: another suite's server may take it between our
  // look and Prosody's bind. Prosody then runs without that port (it says so): start again on new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startProsodyOnce(opts);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function startProsodyOnce(opts: ProsodyOptions): Promise<ProsodyServer> {
  const domain = opts.domain ?? 'localhost';
  const dir = tmpDir('prosody');
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  const certDir = join(dir, 'certs');
  mkdirSync(dataDir);
  mkdirSync(certDir);
  const tls = await makeLocalCa(certDir, [domain]);
  const [c2sPort, httpPort] = [await freePort(), await freePort()];
  const components = Object.entries(opts.components ?? {});
  const componentPort = components.length > 0 ? await freePort() : undefined;
  // A Component section after the VirtualHost; the component service binds only where told.
  const componentConfig =
    componentPort === undefined
      ? ''
      : `component_ports = { ${componentPort} }\ncomponent_interface = "127.0.0.1"\n`;
  const privileged = opts.privileged ?? [];
  const componentSections = components
    .map(
      ([name, secret]) =>
        `\nComponent ${lua(name)}\n    component_secret = ${lua(secret)}\n` +
        (privileged.includes(name) ? '    modules_enabled = { "privilege" }\n' : ''),
    )
    .join('');
  const hostPrivileges = privileged.length
    ? '    modules_enabled = { "privilege", "pep" }\n    privileged_entities = {\n' +
      privileged.map((d) => `        [${lua(d)}] = { roster = "both"; message = "outgoing"; iq = { ["http://jabber.org/protocol/pubsub"] = "set" } };\n`).join('') +
      '    }\n'
    : '';
  const configFile = join(dir, 'prosody.cfg.lua');
  writeFileSync(
    configFile,
    `-- generated by test/support/prosody.ts
daemonize = false
pidfile = ${lua(join(dir, 'prosody.pid'))}
data_path = ${lua(dataDir)}
certificates = ${lua(certDir)}
log = { { levels = { min = ${lua(opts.logLevel ?? 'info')} }, to = "console" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
http_ports = { ${httpPort} }
http_interfaces = { "127.0.0.1" }
https_ports = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "smacks", "websocket", "version", "time" }
modules_disabled = { "s2s", "offline", "posix" }
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = ${opts.requireEncryption ?? true}
allow_unencrypted_plain_auth = ${opts.allowUnencryptedPlain ?? false}
consider_websocket_secure = true
ssl = { key = ${lua(tls.keyFile)}, certificate = ${lua(tls.certFile)} }
${componentConfig}${opts.extraConfig ?? ''}
VirtualHost ${lua(domain)}
${hostPrivileges}${componentSections}`,
  );
  await run('chown', ['-R', 'prosody:prosody', dir]);
  const register = (user: string, password: string): Promise<void> =>
    prosodyctl(configFile, ['register', user, domain, password]);
  for (const [user, password] of Object.entries(opts.users ?? {})) await register(user, password);

  const launch = async (): Promise<Proc> => {
    // runuser stays the parent of prosody: signal the whole group so prosody itself gets it.
    const p = await spawnProc('runuser', ['-u', 'prosody', '--', 'prosody', '--config', configFile], {
      stdin: 'ignore',
      group: true,
    });
    try {
      for (const port of [c2sPort, httpPort, componentPort]) if (port !== undefined) await waitForPort(port, 20_000);
    } catch (err) {
      await p.kill();
      throw new Error(`prosody did not listen: ${(err as Error).message}${p.tails()}`);
    }
    // The ports answer, but are they Prosody's? A port taken by someone else is logged at start.
    await new Promise((r) => setTimeout(r, 200));
    if (/Failed to open server port/.test(p.output())) {
      await p.kill();
      throw new PortTakenError(`a port of prosody was taken by another program${p.tails()}`);
    }
    return p;
  };
  let proc: Proc;
  try {
    proc = await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    get proc() {
      return proc;
    },
    dir,
    configFile,
    domain,
    c2sPort,
    httpPort,
    websocketUrl: `ws://127.0.0.1:${httpPort}/xmpp-websocket`,
    componentPort: componentPort ?? 0,
    tls,
    register,
    restart: async () => {
      await proc.kill();
      proc = await launch();
    },
    stop: async () => {
      await proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
