// Drives libpurple (Pidgin's XMPP engine) through bitlbee-libpurple: start bitlbee, talk to it as an IRC client.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../../test/support/identities.js';
import { freePort, lineClient, waitForPort, type LineClient } from '../../test/support/net.js';
import { spawnProc, type Proc } from '../../test/support/proc.js';

export interface StartBitlbeeOptions {
  /**
   * Server certificates to trust without a prompt (see Bitlbee.pinCertificate); nick defaults
   * to IrcClient's default nick 'tester'.
   */
  pinCertificates?: { nick?: string; host: string; certFile: string }[];
}

export interface Bitlbee {
  proc: Proc;
  port: number;
  /** Its private dir: config, and per IRC user libpurple's files in <dir>/purple/<nick>/ (also HOME). */
  dir: string;
  /**
   * Trusts a server certificate for one IRC user without a prompt: writes it into that user's
   * libpurple peer-certificate cache (<ConfigDir>/purple/<nick>/certificates/x509/tls_peers/<host>),
   * exactly where Pidgin stores a certificate the user accepted. `host` is the name libpurple
   * checks: the account's connect_server (e.g. '127.0.0.1'), and the certificate must name it
   * (an IP SAN for an address). libpurple has no per-user CA list (only /etc/ssl/certs), so a
   * private CA cannot be trusted per test; pinning the leaf is the equivalent.
   */
  pinCertificate(nick: string, host: string, certFile: string): void;
  stop(): Promise<void>;
}

/**
 * bitlbee in forking mode (libpurple refuses -D) on a free loopback port, with its own config
 * dir and HOME. Stop it with stop() (by PID; the per-client children it forked are killed too,
 * because they share its process group).
 */
export async function startBitlbee(opts: StartBitlbeeOptions = {}): Promise<Bitlbee> {
  const dir = tmpDir('bitlbee');
  const confFile = join(dir, 'bitlbee.conf');
  writeFileSync(confFile, `[settings]\nRunMode = ForkDaemon\nAuthMode = Open\nConfigDir = ${dir}\n`);
  const pinCertificate = (nick: string, host: string, certFile: string): void => {
    // bitlbee-libpurple gives each IRC user the purple user dir <ConfigDir>/purple/<nick>.
    const peers = join(dir, 'purple', nick, 'certificates', 'x509', 'tls_peers');
    mkdirSync(peers, { recursive: true, mode: 0o700 });
    writeFileSync(join(peers, host), firstPem(readFileSync(certFile, 'utf8')));
  };
  for (const p of opts.pinCertificates ?? []) pinCertificate(p.nick ?? 'tester', p.host, p.certFile);
  const port = await freePort();
  const args = ['-F', '-n', '-c', confFile, '-d', dir, '-i', '127.0.0.1', '-p', String(port)];
  const proc = await spawnProc('bitlbee', args, {
    stdin: 'ignore',
    group: true,
    env: { HOME: dir },
  });
  try {
    await waitForPort(port, 15_000);
  } catch (err) {
    await proc.kill();
    throw new Error(`bitlbee did not listen: ${(err as Error).message}${proc.tails()}`);
  }
  const stop = async (): Promise<void> => {
    await proc.kill();
    // The per-IRC-client children share the group and save libpurple's files as they exit
    // (recreating <dir>/purple/...): wait until the whole group is gone, then remove the dir.
    await groupGone(proc.pid, 5_000);
    rmSync(dir, { recursive: true, force: true });
  };
  return { proc, port, dir, pinCertificate, stop };
}

/** Resolves once no process is left in the group (SIGKILLs stragglers after `timeoutMs`). */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (alive()) {
    if (Date.now() > deadline) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first PEM certificate of a file (a chain file starts with the leaf). */
function firstPem(text: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text);
  if (!m) throw new Error('no PEM certificate in file');
  return m[0].endsWith('\n') ? m[0] : m[0] + '\n';
}

export type TlsMode = 'required' | 'try' | 'off';

export interface LoginOptions {
  /** Where the XMPP server listens (libpurple's connect_server). */
  host: string;
  port: number;
  /**
   * 'required': connection_security=require_tls (login fails without STARTTLS);
   * 'try': opportunistic_tls (STARTTLS when offered — libpurple always takes it);
   * 'off': opportunistic_tls + auth_plain_in_clear (libpurple has no "never TLS" setting).
   */
  tls: TlsMode;
  /** Answer bitlbee's "accept certificate?" question with yes (self-signed / unknown CA). Default true. */
  acceptCertificate?: boolean;
  /**
   * How bitlbee names contacts: 'handle' (default: the JID's local part, cut to 23 characters)
   * or 'full_name' (the roster name without spaces, e.g. AlicePeer).
   */
  nickSource?: 'handle' | 'full_name' | 'first_name';
  /** bitlbee account tag. Default 'jabber' for the first account. */
  tag?: string;
  timeoutMs?: number;
}

export interface IrcContact {
  nick: string;
  /** user@host of the IRC nick: the contact's bare JID. */
  jid: string;
  /** IRC realname: libpurple's alias for the buddy, i.e. the roster name when there is one. */
  realname: string;
  /** false when bitlbee marks the contact away (WHO flag G). */
  here: boolean;
}

interface Parsed {
  prefix: string;
  nick: string;
  command: string;
  params: string[];
}

/** One IRC line split into prefix, command and params (the trailing one included). */
export function parseIrc(line: string): Parsed {
  let rest = line;
  let prefix = '';
  if (rest.startsWith(':')) {
    const sp = rest.indexOf(' ');
    prefix = rest.slice(1, sp);
    rest = rest.slice(sp + 1);
  }
  const params: string[] = [];
  while (rest.length) {
    if (rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(' ');
    if (sp < 0) {
      params.push(rest);
      break;
    }
    params.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  const command = params.shift() ?? '';
  return { prefix, nick: prefix.split('!')[0]!, command, params };
}

const ROOT = '&bitlbee';

export class IrcClient {
  private constructor(
    readonly conn: LineClient,
    readonly nick: string,
  ) {}

  /** Connects, registers as `nick`, joins &bitlbee and waits for its NAMES list. */
  static async connect(port: number, nick = 'tester', timeoutMs = 20_000): Promise<IrcClient> {
    const conn = await lineClient(port);
    const irc = new IrcClient(conn, nick);
    await conn.send(`NICK ${nick}`);
    await conn.send(`USER ${nick} 0 * :${nick}`);
    await irc.waitForLine(/^:\S+ 001 /, timeoutMs);
    // bitlbee joins us to &bitlbee by itself after the MOTD.
    await irc.waitForLine(/^:\S+ 366 \S+ &bitlbee /, timeoutMs);
    return irc;
  }

  get lines(): string[] {
    return this.conn.lines;
  }

  /** Index of the next line: pass to waitForLine to look only at what comes after now. */
  mark(): number {
    return this.conn.lines.length;
  }

  send(line: string): Promise<void> {
    return this.conn.send(line);
  }

  waitForLine(re: RegExp | ((line: string) => boolean), timeoutMs = 30_000, from = 0): Promise<string> {
    return this.conn.waitForLine(re, timeoutMs, from);
  }

  /** A command to bitlbee's root user, in &bitlbee. */
  async command(text: string): Promise<void> {
    await this.send(`PRIVMSG ${ROOT} :${text}`);
  }

  /** A command whose answer is root's next line in &bitlbee (e.g. `account jabber set port 5222`). */
  async commandReply(text: string, timeoutMs = 15_000): Promise<string> {
    const from = this.mark();
    await this.command(text);
    const line = await this.waitForLine((l) => isRootSays(l), timeoutMs, from);
    return parseIrc(line).params[1]!;
  }

  /** Lines root said in &bitlbee since `from`. */
  rootSaid(from = 0): string[] {
    return this.lines
      .slice(from)
      .filter(isRootSays)
      .map((l) => plainText(parseIrc(l).params[1]!));
  }

  /**
   * Adds a jabber account and logs it in through libpurple; resolves when bitlbee reports
   * "Logged in". Rejects on a login error with root's messages.
   */
  async login(jid: string, password: string, opts: LoginOptions): Promise<void> {
    const tag = opts.tag ?? 'jabber';
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const set = async (key: string, value: string): Promise<void> => {
      const reply = await this.commandReply(`account ${tag} set ${key} ${value}`);
      if (!reply.startsWith(`${key} = `)) throw new Error(`bitlbee refused "set ${key} ${value}": ${reply}`);
    };
    const added = await this.commandReply(`account add jabber ${jid} ${password}`);
    if (!/Account successfully added/.test(added)) throw new Error(`account add failed: ${added}`);
    if (tag !== 'jabber') await set('tag', tag);
    await set('connect_server', opts.host);
    await set('port', String(opts.port));
    await set('connection_security', opts.tls === 'required' ? 'require_tls' : 'opportunistic_tls');
    if (opts.tls === 'off') await set('auth_plain_in_clear', 'true');
    await set('auto_reconnect', 'false');
    if (opts.nickSource) await set('nick_source', opts.nickSource);
    const from = this.mark();
    await this.command(`account ${tag} on`);
    const deadline = Date.now() + timeoutMs;
    let next = from;
    let certRequest: string[] | undefined;
    for (;;) {
      await this.waitForLine(isRootSays, Math.max(1, deadline - Date.now()), next).catch((err: Error) => {
        throw new Error(`libpurple login of ${jid} did not finish: ${err.message}\nroot said:\n${this.rootSaid(from).join('\n')}`);
      });
      for (; next < this.lines.length; next++) {
        const line = this.lines[next]!;
        if (!isRootSays(line)) continue;
        const text = plainText(parseIrc(line).params[1]!);
        if (/ - Logging in: Logged in$/.test(text)) {
          next++;
          return;
        }
        if (/^New request: Request: SSL Certificate Verification/.test(text)) {
          certRequest = [];
          continue;
        }
        if (certRequest && /You can use the yes\/no commands/.test(text)) {
          // libpurple's "Accept certificate for <host>?" dialog, as a bitlbee query.
          this.certificatePrompts.push(certRequest.filter((t) => t.trim()).join(' '));
          const question = this.certificatePrompts.at(-1)!;
          certRequest = undefined;
          if (opts.acceptCertificate === false) {
            await this.command('no');
            throw new Error(`libpurple did not trust the server certificate: ${question}`);
          }
          await this.command('yes');
          continue;
        }
        if (certRequest) {
          certRequest.push(text);
          continue;
        }
        if (/ - (Login error|Error|Couldn't log in|Signing off|Logged out)\b/i.test(text)) {
          throw new Error(`libpurple login of ${jid} failed: ${text}\nroot said:\n${this.rootSaid(from).join('\n')}`);
        }
      }
    }
  }

  /** Text of each certificate question bitlbee asked during login() (empty when the certificate was trusted). */
  readonly certificatePrompts: string[] = [];

  /**
   * Waits for a root "New request" (e.g. a contact asking to see our presence) matching `re`
   * after `from`, then answers it yes or no.
   */
  async answerRequest(re: RegExp, yes: boolean, timeoutMs = 30_000, from = 0): Promise<string> {
    const line = await this.waitForLine((l) => isRootSays(l) && /New request:/.test(l) && re.test(plainText(l)), timeoutMs, from);
    await this.command(yes ? 'yes' : 'no');
    return plainText(parseIrc(line).params[1]!);
  }

  /** Contacts present in &bitlbee (WHO): nick, JID, realname (roster name), away flag. */
  async contacts(timeoutMs = 15_000): Promise<IrcContact[]> {
    const from = this.mark();
    await this.send(`WHO ${ROOT}`);
    await this.waitForLine(/^:\S+ 315 /, timeoutMs, from);
    const out: IrcContact[] = [];
    for (const l of this.lines.slice(from)) {
      const p = parseIrc(l);
      if (p.command !== '352') continue;
      // 352 me &bitlbee user host server nick flags :hops realname
      const [, , user, host, , nick, flags, trailing] = p.params;
      if (nick === 'root' || nick === this.nick) continue;
      out.push({
        nick: nick!,
        jid: `${user}@${host}`,
        realname: trailing!.replace(/^\d+ /, ''),
        here: flags!.startsWith('H'),
      });
    }
    return out;
  }

  /** The IRC nick bitlbee gave a contact, found by roster name (realname), bare JID, or nick. */
  async nickFor(nameOrJid: string): Promise<string | undefined> {
    const all = await this.contacts();
    const c = all.find((x) => x.jid === nameOrJid || x.realname === nameOrJid || x.nick === nameOrJid);
    return c?.nick;
  }

  /** Waits until a contact (by name or JID) is in &bitlbee, i.e. online; resolves with its nick. */
  async waitForContact(nameOrJid: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Mark before asking: a JOIN that lands while WHO is answered still wakes the wait below.
      const before = this.mark();
      const nick = await this.nickFor(nameOrJid);
      if (nick) return nick;
      if (Date.now() > deadline) {
        throw new Error(`contact ${nameOrJid} never appeared in &bitlbee; present: ${JSON.stringify(await this.contacts())}`);
      }
      // The next JOIN, NICK or MODE is the earliest moment the answer can change.
      await this.waitForLine(/^:\S+ (JOIN|NICK|MODE|PART|QUIT) /, Math.max(1, deadline - Date.now()), before).catch(() => {});
    }
  }

  /** Is the nick in &bitlbee (bitlbee keeps only online contacts there by default)? */
  async isOnline(nick: string): Promise<boolean> {
    return (await this.contacts()).some((c) => c.nick === nick);
  }

  /** Sends a chat message to a contact nick (a private IRC message). */
  async say(nick: string, text: string): Promise<void> {
    await this.send(`PRIVMSG ${nick} :${text}`);
  }

  /** The next private message to us (optionally from one nick) after `from`; resolves with sender and text. */
  async nextPrivmsg(fromNick?: string, timeoutMs = 30_000, from = 0): Promise<{ nick: string; text: string; index: number }> {
    const line = await this.waitForLine(
      (l) => {
        const p = parseIrc(l);
        return p.command === 'PRIVMSG' && p.params[0] === this.nick && (fromNick === undefined || p.nick === fromNick);
      },
      timeoutMs,
      from,
    );
    const p = parseIrc(line);
    return { nick: p.nick, text: plainText(p.params[1]!), index: this.lines.indexOf(line, from) };
  }

  async close(): Promise<void> {
    await this.send('QUIT :bye').catch(() => {});
    await this.conn.close();
  }
}

/** IRC text without formatting codes (bitlbee writes the words yes and no in bold, ^B). */
export function plainText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x03(\d{1,2}(,\d{1,2})?)?|[\x02\x0f\x16\x1d\x1e\x1f]/g, '');
}

function isRootSays(line: string): boolean {
  const p = parseIrc(line);
  return p.nick === 'root' && p.command === 'PRIVMSG' && p.params[0] === ROOT;
}
