// systemd readiness (sd_notify, Type=notify): once every listener is bound and the control socket
// answers, `systemd-notify --ready` tells systemd the service is up. Node has no datagram Unix
// sockets, hence the helper program; the unit says NotifyAccess=all so systemd takes it from a child.
// --no-block: send and go (no BARRIER=1 round trip, which would only delay the daemon).
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

const NOTIFY_TIMEOUT_MS = 5_000;

/** Does nothing unless started by systemd with Type=notify (NOTIFY_SOCKET set). */
export function notifyReady(log: Logger, env: NodeJS.ProcessEnv = process.env): void {
  if (!env.NOTIFY_SOCKET) return;
  const child = spawn('systemd-notify', ['--ready', '--no-block', `--pid=${process.pid}`, '--status=gateway started'], {
    stdio: 'ignore',
    timeout: NOTIFY_TIMEOUT_MS,
  });
  child.on('error', (err) => log.warn({ err }, 'could not tell systemd we are ready (systemd-notify)'));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) log.warn({ code }, 'systemd-notify --ready failed');
  });
}
