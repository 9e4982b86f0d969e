// What a user reads at the first start (and after `init`): how to log in with Pidgin, who we are on the
// tlsim network, and, plainly, how peers reach us: our onion through Tor, or directly.
import type { Config } from '../config.js';
import type { StatusJson } from './status.js';
import { progressBar } from './terminal.js';

export interface WelcomeInput {
  status: StatusJson;
  config: Config;
  /** Shown only when the output is a terminal: a log file or CI output must not keep it. */
  password?: string;
}

export function welcomeText({ status, config, password }: WelcomeInput): string {
  const c2sPort = status.c2sPort ?? config.c2s.port;
  const peerPort = status.peerPort ?? config.peer.port;
  const host = config.c2s.host === '0.0.0.0' || config.c2s.host === '::' ? '127.0.0.1' : config.c2s.host;
  const lines = [
    'tlsim-gateway is set up.',
    '',
    `Your XMPP account: ${status.jid}`,
    `Password file:     ${status.passwordFile}`,
    ...(password ? [`Password:          ${password}`] : [`(read the password with: cat ${status.passwordFile})`]),
    '',
    'Pidgin: Accounts > Manage Accounts > Add',
    '  Basic:    Protocol XMPP, Username ' + config.account.user + ', Domain ' + config.account.domain +
      ', Resource anything, Password (from the file above)',
    `  Advanced: Connection security "Use encryption if available" (or "Require encryption"),`,
    `            Connect port ${c2sPort}, Connect server ${host}`,
    `  At the first login Pidgin asks whether to accept the gateway's certificate: accept it.`,
    `  (Or trust the gateway's CA system-wide: ${status.caCertFile})`,
    '',
    `Your fingerprint:  ${status.fingerprint ?? '(not created yet)'}`,
    `Your share string: ${status.share ?? '(known once the gateway listens: tlsim-gateway share)'}`,
    '  Give it to the people you want to chat with; add theirs with: tlsim-gateway peer add <share string>',
    '',
    ...webLines(config),
    ...torLines(status, config, peerPort),
  ];
  return `${lines.join('\n')}\n`;
}

/** The status page (QR code of the share string, requests, web chat), when it is on at a known port. */
function webLines(config: Config): string[] {
  if (!config.web.enabled || config.web.port === 0) return [];
  return [
    `Status page and web chat: https://${config.web.host}:${config.web.port}/ (your password; or "tlsim-gateway open" logs you in)`,
    '',
  ];
}

function torLines(status: StatusJson, config: Config, peerPort: number): string[] {
  const t = status.tor;
  if (t.mode === 'off' || !t.onion) {
    return [
      ...(t.notice ? [t.notice] : []),
      `Tor: not used (direct mode): peers reach this gateway at ${config.peer.advertise_host}:${peerPort}; ` +
        'your share string works on this network only.',
    ];
  }
  const who = t.mode === 'launch' ? 'our own tor (started and stopped with the gateway)' : `the running tor at ${config.tor.control}`;
  return [
    `Tor: ${who} publishes your onion service ${t.onion}:${config.tor.virtual_port};`,
    '  peers anywhere reach you there. Tor connects in the background (progress below, and in "tlsim-gateway status");',
    '  you can log in and chat with direct peers meanwhile.',
  ];
}

/** Tor's bootstrap as the terminal's status line: a bar, then what tor is doing. */
export function torProgressBar(t: StatusJson['tor']): string {
  const b = t.bootstrap;
  if (!b) return `Tor: ${t.state}`;
  return `Tor: ${progressBar(b.progress)} ${b.summary}${b.warning ? ` (tor says: ${b.warning})` : ''}`;
}
