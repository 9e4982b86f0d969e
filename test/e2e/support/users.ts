// The user's side of an end-to-end test: libpurple through bitlbee (the Pidgin engine), and an
// @xmpp/client session on the same account that sees every stanza whole (message boundaries).
import { readFile } from 'node:fs/promises';
import { IrcClient, parseIrc, plainText, startBitlbee, type Bitlbee } from '../../../clients/bitlbee/driver.js';
import { XmppJsClient } from '../../../clients/xmppjs/client.js';

export const GATEWAY_ROSTER_NAME = 'tlsim gateway';
/** The <priority/> libpurple 2.14 sends with available presence (its status types' default). */
export const LIBPURPLE_PRIORITY = 1;

export interface GatewayEndpoint {
  c2sPort: number;
  userJid: string;
  password: string;
  /** The XMPP server's leaf certificate, pinned in libpurple's cache (no certificate question). */
  serverCertFile: string;
  caCertFile: string;
}

export class PurpleUser {
  private constructor(
    readonly bitlbee: Bitlbee,
    readonly irc: IrcClient,
    /** The IRC nick bitlbee gave the gateway contact (`localhost`). */
    readonly gatewayNick: string,
  ) {}

  /** bitlbee, an IRC connection, the account logged in with required TLS, the gateway contact present. */
  static async login(gw: GatewayEndpoint): Promise<PurpleUser> {
    const bitlbee = await startBitlbee({ pinCertificates: [{ host: '127.0.0.1', certFile: gw.serverCertFile }] });
    try {
      const irc = await IrcClient.connect(bitlbee.port);
      await irc.login(gw.userJid, gw.password, { host: '127.0.0.1', port: gw.c2sPort, tls: 'required', acceptCertificate: false });
      const gatewayNick = await irc.waitForContact(GATEWAY_ROSTER_NAME, 30_000);
      return new PurpleUser(bitlbee, irc, gatewayNick);
    } catch (err) {
      await bitlbee.stop();
      throw err;
    }
  }

  mark(): number {
    return this.irc.mark();
  }

  /** Private messages from a nick since `from`, as plain text, one per IRC line. */
  privmsgsFrom(nick: string, from = 0): string[] {
    return this.irc.lines
      .slice(from)
      .map(parseIrc)
      .filter((p) => p.command === 'PRIVMSG' && p.params[0] === this.irc.nick && p.nick === nick)
      .map((p) => plainText(p.params[1]!));
  }

  /** Waits for a private message line from `nick` after `from` matching `re`; resolves with its text. */
  async waitPrivmsg(nick: string, re: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    const line = await this.irc.waitForLine((l) => {
      const p = parseIrc(l);
      return p.command === 'PRIVMSG' && p.params[0] === this.irc.nick && p.nick === nick && re.test(plainText(p.params[1]!));
    }, timeoutMs, from);
    return plainText(parseIrc(line).params[1]!);
  }

  /**
   * Types a command to the gateway contact (a chat message to `localhost`) and waits for the
   * gateway's answer line matching `expect`; returns every line the gateway said since.
   */
  async command(text: string, expect: RegExp, timeoutMs = 30_000): Promise<string[]> {
    const from = this.mark();
    await this.irc.say(this.gatewayNick, text);
    await this.waitPrivmsg(this.gatewayNick, expect, timeoutMs, from);
    return this.privmsgsFrom(this.gatewayNick, from);
  }

  /** Resolves when `nick` leaves &bitlbee (QUIT or PART) after `from`. */
  async waitOffline(nick: string, timeoutMs = 30_000, from = 0): Promise<void> {
    await this.irc.waitForLine(new RegExp(`^:${escape(nick)}!\\S+ (QUIT|PART) `), timeoutMs, from);
  }

  /** Resolves when `nick` joins &bitlbee after `from`. */
  async waitOnline(nick: string, timeoutMs = 30_000, from = 0): Promise<void> {
    await this.irc.waitForLine(new RegExp(`^:${escape(nick)}!\\S+ JOIN `), timeoutMs, from);
  }

  /** The last IRC lines, for failure reports. */
  tail(n = 40): string {
    return this.irc.lines.slice(-n).join('\n');
  }

  async close(): Promise<void> {
    await this.irc.close().catch(() => {});
    await this.bitlbee.stop();
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What an XMPP client needs of a gateway: all but the server certificate (pinned for libpurple only). */
export type XmppEndpoint = Omit<GatewayEndpoint, 'serverCertFile'> & { serverCertFile?: string };

/** An @xmpp/client session (its own resource) on the gateway account, trusting the gateway CA. */
export async function xmppObserver(gw: XmppEndpoint, resource = 'observer'): Promise<XmppJsClient> {
  const client = new XmppJsClient({
    service: `xmpp://127.0.0.1:${gw.c2sPort}`,
    domain: gw.userJid.split('@')[1]!,
    username: gw.userJid.split('@')[0]!,
    password: gw.password,
    resource,
    ca: await readFile(gw.caCertFile, 'utf8'),
  });
  await client.start();
  // The same priority as libpurple's default (1): a tie, so both get what is sent to the user's bare
  // JID (RFC 6121 §8.5.2.1.1); with 0 the messages would go to Pidgin alone.
  await client.presence({}, LIBPURPLE_PRIORITY);
  return client;
}
