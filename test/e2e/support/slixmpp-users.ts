// slixmpp users of in-process gateways: log in trusting the gateway's CA, type commands to the gateway contact,
// wait for a contact to come online.
import { SlixmppClient } from '../../../clients/slixmpp/driver.js';
import type { E2eGateway } from './gateway.js';

export const bare = (jid: string): string => jid.split('/')[0]!;

export async function slixUser(gw: E2eGateway): Promise<SlixmppClient> {
  const c = await SlixmppClient.start({ log: 'debug' });
  await c.connect({ jid: gw.userJid, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile });
  return c;
}

/** The user types a command to its gateway contact (`domain`); resolves with the answer matching `re`. */
export async function slixCommand(c: SlixmppClient, text: string, re: RegExp, timeoutMs = 60_000, domain = 'localhost'): Promise<string> {
  const from = c.mark();
  await c.send(domain, text);
  return (await c.nextMessage((m) => m.from === domain && re.test(m.body), timeoutMs, from)).body;
}

export function seesOnline(c: SlixmppClient, jid: string, from: number, timeoutMs = 60_000) {
  return c.waitForEvent((e) => e.event === 'presence' && bare(e.from) === jid && e.type === 'available', timeoutMs, from);
}
