// A gateway's user on slixmpp (clients/slixmpp/driver.py), for in-process gateways and real CLI ones alike: log in
// trusting the gateway's CA, type commands to the gateway contact, wait for a contact to come online.
import { SlixmppClient, type ConnectCommand } from '../../../clients/slixmpp/driver.js';
import type { CliGateway, E2eGateway } from './gateway.js';

/** The gateway contact's JID (the server domain). */
export const GATEWAY = 'localhost';

export const bare = (jid: string): string => jid.split('/')[0]!;

/** Where and as whom the gateway's user logs in, from either kind of gateway. */
function account(gw: CliGateway | E2eGateway): Pick<ConnectCommand, 'jid' | 'password' | 'port' | 'ca_file'> {
  if ('status' in gw && 'proc' in gw) return { jid: gw.status.jid, password: gw.password, port: gw.status.c2sPort!, ca_file: gw.status.caCertFile };
  const g = gw as E2eGateway;
  return { jid: g.userJid, password: g.password, port: g.c2sPort, ca_file: g.caCertFile };
}

/** Logs the gateway's user in with slixmpp (debug log kept for failures). */
export async function slixUser(gw: CliGateway | E2eGateway, opts: Partial<ConnectCommand> = {}): Promise<SlixmppClient> {
  const c = await SlixmppClient.start({ log: 'debug' });
  await c.connect({ ...account(gw), host: '127.0.0.1', ...opts });
  return c;
}

/** The user types a command to its gateway contact (`domain`); resolves with the answer matching `re`. */
export async function gatewayCommand(c: SlixmppClient, text: string, re: RegExp, timeoutMs = 60_000, domain = GATEWAY): Promise<string> {
  const from = c.mark();
  await c.send(domain, text);
  return (await c.nextMessage((m) => m.from === domain && re.test(m.body), timeoutMs, from)).body;
}

export function seesOnline(c: SlixmppClient, jid: string, from: number, timeoutMs = 60_000) {
  return c.waitForEvent((e) => e.event === 'presence' && bare(e.from) === jid && e.type === 'available', timeoutMs, from);
}
