// `tlsim-gateway open`: a one-time login link to the running gateway's status page, printed, and opened
// in the desktop's browser (xdg-open) when there is a display.
import { spawn } from 'node:child_process';
import { CliError, loadContext, parseCommandArgs, UsageError } from './common.js';
import { askGateway } from './gateway-access.js';

export const OPEN_USAGE = `usage: tlsim-gateway open [--print] [options]

Prints a one-time link (valid 5 minutes) that logs you in to the status page of the running gateway
(QR code of your share string, contacts, requests, log, and the web chat), and opens it in your browser
when there is a display. --print only prints it. The browser asks once about the gateway's own
certificate authority (tls/ca.pem in the data directory): trust it, or accept the certificate.`;

export async function openMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPEN_USAGE, { print: { type: 'boolean' } });
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`open takes no arguments (got "${parsed.positionals[0]}")`, OPEN_USAGE);
  const ctx = await loadContext(parsed.values);
  const res = await askGateway(ctx.dataDir, { op: 'web-link' });
  if (!res) throw new CliError(`the gateway is not running on ${ctx.dataDir}: start it ("tlsim-gateway run") first`);
  if ('error' in res) throw new CliError(res.error);
  if (!('text' in res) || !res.ok) throw new CliError('text' in res ? res.text : 'unexpected answer from the gateway');
  process.stdout.write(`${res.text}\n`);
  const display = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!parsed.values.print && display) {
    const child = spawn('xdg-open', [res.text], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write('tlsim-gateway: xdg-open is not available; open the link above in your browser\n'));
    child.unref();
  }
  return 0;
}
