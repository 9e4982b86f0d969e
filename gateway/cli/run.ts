// `tlsim-gateway run` (the default, what `npm start` runs): start the daemon in the foreground until a signal.
import { readFile } from 'node:fs/promises';
import { createGatewayLogger, startGateway } from '../daemon.js';
import { startComponentGateway } from '../component/start.js';
import { opensslConfigWarning } from '../daemon/openssl-config.js';
import { notifyReady } from '../daemon/sd-notify.js';
import { handleSignals } from '../daemon/signals.js';
import type { StatusJson } from '../daemon/status.js';
import type { GatewayTor } from '../tor/gateway-tor.js';
import { torProgressLine, welcomeText } from '../daemon/welcome.js';
import { LogRing } from '../web/log-ring.js';
import { loadContext, parseCommandArgs, UsageError } from './common.js';

export const RUN_USAGE = `usage: tlsim-gateway [run] [options]

Runs the gateway in the foreground: the XMPP server your client logs in to and the tlsim peer side
(or, with gateway.mode = "component", a component of your XMPP server serving each registered user).
Stops cleanly on SIGTERM or Ctrl-C; SIGHUP reloads the log level, the unknown-peer policy and the TLS certificate.`;

export async function runMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, RUN_USAGE);
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`run takes no arguments (got "${parsed.positionals[0]}")`, RUN_USAGE);
  const ctx = await loadContext(parsed.values);
  // The status page's log tail; component mode has no status page.
  const logRing = ctx.config.gateway.mode === 'local' && ctx.config.web.enabled ? new LogRing() : undefined;
  const log = createGatewayLogger(ctx.config, logRing);
  const openssl = opensslConfigWarning();
  if (openssl) log.warn(openssl);
  if (ctx.config.gateway.mode === 'component') {
    const component = await startComponentGateway({
      config: ctx.config,
      dataDir: ctx.dataDir,
      configPath: ctx.configPath,
      log,
      reloadConfig: ctx.reloadConfig,
    });
    notifyReady(log);
    return handleSignals(component, log);
  }
  const gw = await startGateway({
    config: ctx.config,
    dataDir: ctx.dataDir,
    configPath: ctx.configPath,
    log,
    reloadConfig: ctx.reloadConfig,
    ...(logRing && { logRing }),
  });
  notifyReady(log);
  if (gw.identityCreated) {
    const status = gw.status();
    const tty = Boolean(process.stdout.isTTY);
    const password = tty ? (await readFile(status.passwordFile, 'utf8')).trim() : undefined;
    // On a terminal the person reads stdout; otherwise stdout carries JSON log lines and must stay machine-readable.
    const out = tty ? process.stdout : process.stderr;
    out.write(`\n${welcomeText({ status, config: ctx.config, password })}\n`);
    followTorOnce(gw, (line) => out.write(`${line}\n`));
  }
  return handleSignals(gw, log);
}

/** First start: Tor's bootstrap told as it goes, until our onion is published (the log has it too). */
function followTorOnce(gw: { tor: GatewayTor | undefined; status(): StatusJson }, say: (line: string) => void): void {
  const tor = gw.tor;
  if (!tor) return;
  let last = '';
  const tell = (): void => {
    const line = torProgressLine(gw.status().tor);
    if (line !== last) say((last = line));
  };
  const offStatus = tor.service.on('status', tell);
  const offWarning = tor.service.on('warning', tell);
  tor.service.once('published', () => {
    tell();
    say(`Tor: ready. Your share string: ${gw.status().share ?? '-'}`);
    offStatus();
    offWarning();
  });
  tell();
}
