// `tlsim-gateway service install|uninstall [--user|--system]`: a hardened systemd unit that runs
// bin/tlsim-gateway (node with the gateway's OpenSSL settings, gateway/daemon/openssl-config.ts).
// Type=notify: the daemon reports ready once its listeners and control socket are up (sd-notify.ts).
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../xmpp/secret-file.js';
import { CliError, loadContext, parseCommandArgs, UsageError } from './common.js';

export const SERVICE_USAGE = `usage: tlsim-gateway service install|uninstall [--user|--system] [--print] [options]

install: writes a systemd unit that runs the gateway ("tlsim-gateway run") and restarts it on failure.
  --user (the default): ~/.config/systemd/user/tlsim-gateway.service, your data directory and config;
    then: systemctl --user daemon-reload && systemctl --user enable --now tlsim-gateway
    (and "loginctl enable-linger $USER" to keep it running when you are logged out).
  --system: /etc/systemd/system/tlsim-gateway.service (as root), running as the dedicated user
    "tlsim-gateway" with data in /var/lib/tlsim-gateway and config in /etc/tlsim-gateway/config.toml.
  --print: print the unit instead of writing it.
uninstall: removes the unit file (stop it first: systemctl [--user] disable --now tlsim-gateway).`;

export const UNIT_NAME = 'tlsim-gateway.service';
const SYSTEM_USER = 'tlsim-gateway';

/** The repository's bin/tlsim-gateway, from this file (dist/gateway/cli or gateway/cli). */
export function launcherPath(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const bin = join(dir, 'bin', 'tlsim-gateway');
    if (existsSync(bin) && existsSync(join(dir, 'package.json'))) return bin;
  }
  throw new CliError('bin/tlsim-gateway not found next to this installation');
}

export interface UnitOptions {
  system: boolean;
  launcher: string;
  /** The directory of the node binary: systemd's PATH may not have it (nvm, /usr/local). */
  nodeDir: string;
  dataDir: string;
  configPath: string;
}

/** systemd quoting for one ExecStart argument. */
const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`);

export function unitText(o: UnitOptions): string {
  const exec = [o.launcher, 'run', '--data-dir', o.dataDir, '--config', o.configPath].map(q).join(' ');
  const underHome = o.launcher.startsWith('/home/') || o.launcher.startsWith('/root/');
  const lines = [
    '# Written by "tlsim-gateway service install"; "tlsim-gateway service uninstall" removes it.',
    '[Unit]',
    'Description=tlsim-gateway: tlsim peers in your XMPP client',
    'Documentation=file://' + resolve(dirname(o.launcher), '..', 'README.md'),
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=notify',
    // The readiness message comes from systemd-notify, a child of node.
    'NotifyAccess=all',
    `ExecStart=${exec}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    `Environment=PATH=${o.nodeDir}:/usr/local/bin:/usr/bin:/bin`,
    // JSON log lines: journald keeps them as they are.
    'Environment=TLSIM_LOG_FORMAT=json',
    'Restart=on-failure',
    'RestartSec=5s',
    'TimeoutStopSec=30s',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'LockPersonality=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'SystemCallArchitectures=native',
  ];
  if (o.system) {
    lines.push(
      `User=${SYSTEM_USER}`,
      `Group=${SYSTEM_USER}`,
      'StateDirectory=tlsim-gateway',
      'StateDirectoryMode=0700',
      'ConfigurationDirectory=tlsim-gateway',
      'ProtectSystem=strict',
      `ReadWritePaths=${o.dataDir}`,
      // The program may live under /home (a checkout): readable, never writable.
      `ProtectHome=${underHome ? 'read-only' : 'yes'}`,
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'ProtectClock=yes',
      'ProtectHostname=yes',
      'RestrictNamespaces=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
      'SystemCallFilter=@system-service',
      // No MemoryDenyWriteExecute: V8 compiles JavaScript to machine code at run time.
    );
  }
  lines.push('', '[Install]', `WantedBy=${o.system ? 'multi-user.target' : 'default.target'}`, '');
  return lines.join('\n');
}

function unitPath(system: boolean, env: NodeJS.ProcessEnv): string {
  if (system) return join('/etc/systemd/system', UNIT_NAME);
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user', UNIT_NAME);
}

export async function serviceMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, SERVICE_USAGE, {
    user: { type: 'boolean' },
    system: { type: 'boolean' },
    print: { type: 'boolean' },
  });
  if (!parsed) return 0;
  const [verb, ...extra] = parsed.positionals;
  if ((verb !== 'install' && verb !== 'uninstall') || extra.length > 0) throw new UsageError(verb ? `unknown service command "${verb}"` : 'install or uninstall?', SERVICE_USAGE);
  if (parsed.values.user && parsed.values.system) throw new UsageError('--user or --system, not both', SERVICE_USAGE);
  const system = Boolean(parsed.values.system);
  const path = unitPath(system, process.env);
  const ctl = system ? 'systemctl' : 'systemctl --user';
  if (verb === 'uninstall') {
    if (!existsSync(path)) {
      process.stdout.write(`no unit at ${path}: nothing to remove\n`);
      return 0;
    }
    await rm(path);
    process.stdout.write(`removed ${path}\nthen: ${ctl} daemon-reload\n`);
    return 0;
  }
  const ctx = await loadContext(parsed.values);
  const unit = unitText({
    system,
    launcher: launcherPath(),
    nodeDir: dirname(process.execPath),
    dataDir: system ? '/var/lib/tlsim-gateway' : ctx.dataDir,
    configPath: system ? '/etc/tlsim-gateway/config.toml' : ctx.configPath,
  });
  if (parsed.values.print) {
    process.stdout.write(unit);
    return 0;
  }
  if (system && process.getuid?.() !== 0) throw new CliError(`writing ${path} needs root: run it with sudo (or --print the unit)`);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, unit, 0o644);
  const first = system ? `useradd --system --home-dir /var/lib/tlsim-gateway --shell /usr/sbin/nologin ${SYSTEM_USER}\n  ` : '';
  process.stdout.write(`wrote ${path}\nthen:\n  ${first}${ctl} daemon-reload && ${ctl} enable --now tlsim-gateway\n  journalctl ${system ? '' : '--user '}-u tlsim-gateway -f   # its log\n`);
  return 0;
}
