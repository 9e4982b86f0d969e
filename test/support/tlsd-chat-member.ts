// A member of the reference chat room (test/support/tlsd.ts startTlsdChat) on gnutls-cli, as its users join:
// dial, answer fp2alias's question unless the fingerprint is known, read our own join line for our NAME.
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { gnutlsCli, type DialingPeer } from '../e2e/support/reference-peer.js';
import type { OpensslIdentity } from './identities.js';
import type { TlsdChat } from './tlsd.js';

export const MINUTE = '\\d\\d:\\d\\d';

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface ChatMember {
  member: DialingPeer;
  /** `alias[pid]`, as the room names this member. */
  nick: string;
  /** Resolves once the member read a line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what()} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `alias` undefined: the room knows the fingerprint and asks nothing. */
export async function joinChat(room: Pick<TlsdChat, 'port'>, id: OpensslIdentity, alias: string | undefined, timeoutMs = 20_000): Promise<ChatMember> {
  const member = await gnutlsCli(id, room.port);
  const seen = () => `member ${alias ?? id.fingerprint.slice(0, 8)} read:\n${member.received()}`;
  if (alias !== undefined) {
    await until(() => member.received().includes('Enter your alias, please.'), timeoutMs, () => `no alias question; ${seen()}`);
    await member.type(`${alias}\n`);
  }
  const joined = new RegExp(`^${MINUTE} \\* (${alias ? escapeRe(alias) : '[a-z0-9]+'}\\[\\d+\\]) joins$`, 'm');
  await until(() => joined.test(member.received()), timeoutMs, () => `no join line; ${seen()}`);
  return {
    member,
    nick: joined.exec(member.received())![1]!,
    waitFor: (re, ms = timeoutMs) => until(() => re.test(member.received()), ms, () => `no line matching ${re}; ${seen()}`),
  };
}

/**
 * tlsd-chat.sh announces a join before its relay to the broker is connected, so a line written in that instant
 * misses the newcomer (docs/rooms.md): the member writes again until the XMPP user has it as a groupchat message.
 */
export async function memberSaysTo(user: SlixmppClient, m: ChatMember, text: string, from: number) {
  for (let i = 0; i < 10; i++) {
    await m.member.type(`${text}\n`);
    const got = await user.nextMessage((e) => e.type === 'groupchat' && e.body === text, 2_000, from).catch(() => undefined);
    if (got) return got;
  }
  throw new Error(`the user never got "${text}"; events:\n${user.recent()}`);
}
