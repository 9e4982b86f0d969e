// `tlsim-gateway run` (the default, what `npm start` runs): start the daemon in the foreground until a signal.
import { readFile } from 'node:fs/promises';
import { createGatewayLogger, startGateway } from '../daemon.js';
import { startComponentGateway } from '../component/start.js';
import { opensslConfigWarning } from '../daemon/openssl-config.js';
import { notifyReady } from '../daemon/sd-notify.js';
import { handleSignals } from '../daemon/signals.js';
import type { StatusJson } from '../daemon/status.js';
import type { GatewayTor } from '../tor/gateway-tor.js';
import { TerminalOutput } from '../daemon/terminal.js';
import { torProgressBar, welcomeText } from '../daemon/welcome.js';
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
  // A person at a terminal reads standard output; a service's output is its log (standard error) only.
  const terminal = process.stdout.isTTY ? new TerminalOutput(process.stdout) : undefined;
  const log = createGatewayLogger(ctx.config, logRing, terminal);
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
    if (terminal) {
      const password = (await readFile(status.passwordFile, 'utf8')).trim();
      terminal.print(`\n${welcomeText({ status, config: ctx.config, password })}\n`);
      followTorOnce(gw, terminal);
    } else {
      // The same facts as one log line (never the password): a service's first start is in its journal.
      log.info(
        { firstStart: true, jid: status.jid, passwordFile: status.passwordFile, share: status.share ?? null, fingerprint: status.fingerprint ?? null },
        `first start: log in as ${status.jid} with the password in ${status.passwordFile}; your share string is ${status.share ?? '(tlsim-gateway share)'}` +
          (gw.tor ? '; Tor bootstraps in the background' : ''),
      );
    }
  }
  return handleSignals(gw, log);
}

/** First start, on a terminal: Tor's bootstrap as a bar on the last line, until our onion is published. */
function followTorOnce(gw: { tor: GatewayTor | undefined; status(): StatusJson }, terminal: TerminalOutput): void {
  const tor = gw.tor;
  if (!tor) return;
  const tell = (): void => terminal.setStatus(torProgressBar(gw.status().tor));
  const offStatus = tor.service.on('status', tell);
  const offWarning = tor.service.on('warning', tell);
  tor.service.once('published', () => {
    offStatus();
    offWarning();
    terminal.finish(`Tor: ready, onion service published. Your share string: ${gw.status().share ?? '-'}`);
  });
  tell();
}
