// A real gateway's user on slixmpp (clients/slixmpp/driver.py): log in, and type commands to the gateway contact.
import { SlixmppClient, type ConnectCommand } from '../../../clients/slixmpp/driver.js';
import type { CliGateway } from './gateway.js';

/** The gateway contact's JID (the server domain). */
export const GATEWAY = 'localhost';

/** Logs the gateway's user in with slixmpp (debug log kept for failures). */
export async function slixUser(gw: CliGateway, opts: Partial<ConnectCommand> = {}): Promise<SlixmppClient> {
  const c = await SlixmppClient.start({ log: 'debug' });
  await c.connect({ jid: gw.status.jid, password: gw.password, host: '127.0.0.1', port: gw.status.c2sPort!, ca_file: gw.status.caCertFile, ...opts });
  return c;
}

/** The user types a command to its gateway contact; resolves with the answer matching `re`. */
export async function gatewayCommand(c: SlixmppClient, text: string, re: RegExp, timeoutMs = 60_000): Promise<string> {
  const from = c.mark();
  await c.send(GATEWAY, text);
  return (await c.nextMessage((m) => m.from === GATEWAY && re.test(m.body), timeoutMs, from)).body;
}
