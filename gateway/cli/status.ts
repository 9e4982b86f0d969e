// `tlsim-gateway status [--json]` and `tlsim-gateway share`: from the running gateway, or from disk when stopped.
import { CliError, loadContext, parseCommandArgs, printJson, UsageError } from './common.js';
import { gatewayStatus } from './gateway-access.js';
import type { StatusJson } from '../daemon/status.js';

export const STATUS_USAGE = `usage: tlsim-gateway status [--json] [options]

Shows whether the gateway runs, its ports, your account, fingerprint and share string.
--json prints one object (keys: running, pid, fingerprint, share, jid, passwordFile, c2sPort, peerPort,
websocketPort, peerDomain, tor, dataDir, configFile, caCertFile, online, queued, startedAt: those of the
default account), and accounts: every local account (see tlsim-gateway account list --json).`;

export const SHARE_USAGE = `usage: tlsim-gateway share [options]

Prints your share string (tlsim://<fingerprint>@<host>:<port>) and nothing else, for scripts and QR codes.`;

export async function statusMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, STATUS_USAGE, { json: { type: 'boolean' } });
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`status takes no arguments (got "${parsed.positionals[0]}")`, STATUS_USAGE);
  const status = await gatewayStatus(await loadContext(parsed.values));
  if (parsed.values.json) printJson(status);
  else process.stdout.write(describe(status));
  return 0;
}

export async function shareMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, SHARE_USAGE);
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`share takes no arguments (got "${parsed.positionals[0]}")`, SHARE_USAGE);
  const status = await gatewayStatus(await loadContext(parsed.values));
  if (!status.share) {
    throw new CliError(
      status.fingerprint
        ? 'no share string yet: peer.port is 0 (a free port is picked at start); start the gateway, or set a port'
        : `no identity yet in ${status.dataDir}: run "tlsim-gateway init" (or start the gateway) first`,
    );
  }
  process.stdout.write(`${status.share}\n`);
  return 0;
}

function torLine(t: StatusJson['tor']): string {
  if (t.mode === 'off') return `not used (direct mode)${t.notice ? `: ${t.notice}` : ''}`;
  if (t.state === 'stopped') return `${t.mode}, gateway stopped${t.onion ? `; onion ${t.onion}` : ''}`;
  const b = t.bootstrap;
  return (
    `${t.mode}, ${t.state}${b ? ` (bootstrapped ${b.progress}%: ${b.summary}${b.warning ? `; tor says: ${b.warning}` : ''})` : ''}` +
    `; onion ${t.onion ?? '-'}${t.published ? ' (published)' : ''}${t.socks ? `; SOCKS ${t.socks}` : ''}`
  );
}

function describe(s: StatusJson): string {
  const port = (p: number | null): string => (p === null ? '-' : String(p));
  const c = s.component;
  if (c) {
    return [
      `running (PID ${s.pid}${s.startedAt ? `, since ${s.startedAt}` : ''}) in component mode`,
      `component:    ${c.domain} on ${c.server}, ${c.connected ? 'connected' : `not connected${c.lastError ? `: ${c.lastError}` : ''}`}`,
      `users:        ${c.users} registered, ${c.usersLinked} with their peer links up; ${s.online} peers online, ${s.queued} messages queued`,
      `Tor:          ${torLine(s.tor)}`,
      `data:         ${s.dataDir}`,
      `config:       ${s.configFile ?? '(defaults)'}`,
      '',
    ].join('\n');
  }
  const lines = [
    s.running ? `running (PID ${s.pid}${s.startedAt ? `, since ${s.startedAt}` : ''})` : 'not running',
    `account:      ${s.jid} (password in ${s.passwordFile})`,
    `XMPP clients: port ${port(s.c2sPort)}${s.websocketPort !== null ? `, WebSocket port ${s.websocketPort}` : ''}`,
    `peers:        port ${port(s.peerPort)}, JIDs under ${s.peerDomain}; ${s.online} online, ${s.queued} messages queued`,
    `fingerprint:  ${s.fingerprint ?? '(none yet: run tlsim-gateway init)'}`,
    `share string: ${s.share ?? '-'}`,
    `Tor:          ${torLine(s.tor)}`,
    `data:         ${s.dataDir}`,
    `config:       ${s.configFile ?? '(defaults)'}`,
    `CA cert:      ${s.caCertFile}`,
    ...((s.accounts?.length ?? 0) > 1 ? [`accounts:     ${s.accounts!.map((a) => a.jid).join(', ')} (tlsim-gateway account list)`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
