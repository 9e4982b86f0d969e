// Real XMPP users (slixmpp on Prosody or ejabberd) who use the gateway as a component of their
// server: log in, register with the gateway, add a peer by typing to it, read what arrives.
import { expect } from 'vitest';
import { SlixmppClient, type ConnectCommand, type SlixEvent } from '../../../clients/slixmpp/driver.js';

export const T = 120_000;
export const WAIT = 30_000;

/** What a test needs to know of the user's server. */
export interface UserServer {
  domain: string;
  c2sPort: number;
  tls: { caCertFile: string };
}

export interface ComponentUser {
  client: SlixmppClient;
  jid: string;
  /** The user's tlsim fingerprint and share string, from the gateway's welcome. */
  fingerprint: string;
  share: string;
}

type MessageEvent = Extract<SlixEvent, { event: 'message' }>;

export function bare(jid: string): string {
  return jid.split('/')[0]!;
}

/** Logs `name` in to their server with the real slixmpp client (STARTTLS, the server's own CA). */
export async function login(
  server: UserServer,
  name: string,
  password: string,
  clients: SlixmppClient[],
  opts: Pick<ConnectCommand, 'auto_authorize' | 'auto_subscribe' | 'pep' | 'notify'> = {},
): Promise<SlixmppClient> {
  const client = await SlixmppClient.start();
  clients.push(client);
  await client.connect({ jid: `${name}@${server.domain}`, password, port: server.c2sPort, ca_file: server.tls.caCertFile, ...opts });
  return client;
}

/** The first chat message from `from` (bare JID) whose body matches, after event index `since`. */
export async function messageFrom(client: SlixmppClient, from: string, body: RegExp, since = 0, ms = WAIT): Promise<MessageEvent> {
  return (await client.waitForEvent(
    (e) => e.event === 'message' && bare(e.from) === from && e.type !== 'error' && body.test(e.body),
    ms,
    since,
  )) as MessageEvent;
}

/** XEP-0077 registration with the gateway; the welcome carries the user's fingerprint and share string. */
export async function registerWithGateway(client: SlixmppClient, name: string, domain: string, gateway: string): Promise<ComponentUser> {
  const from = client.mark();
  const form = await client.request({ cmd: 'register', to: gateway });
  expect(form.registered).toBe(true);
  const welcome = await messageFrom(client, gateway, /Your tlsim fingerprint/, from);
  const fingerprint = /fingerprint: ([0-9a-f]{64})/.exec(welcome.body)![1]!;
  const share = /(tlsim:\/\/\S+)/.exec(welcome.body)?.[1] ?? '';
  return { client, jid: `${name}@${domain}`, fingerprint, share };
}

/** Types a command line to the gateway and waits for its answer. */
export async function tellGateway(client: SlixmppClient, gateway: string, line: string, answer: RegExp): Promise<string> {
  const from = client.mark();
  await client.request({ cmd: 'send', to: gateway, body: line });
  return (await messageFrom(client, gateway, answer, from)).body;
}

/** The contact's available presence reached the user (their server let it through: subscribed). */
export async function seesOnline(client: SlixmppClient, contact: string, since = 0, ms = WAIT): Promise<void> {
  await client.waitForEvent((e) => e.event === 'presence' && bare(e.from) === contact && e.type === 'available', ms, since);
}
