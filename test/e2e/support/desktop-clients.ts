// What the tests of real desktop clients under Xvfb (Gajim, Dino) share: a room the user hosts with a gnutls-cli
// member in it (made before the client starts, so its autojoin bookmark is there at the client's login), the
// client's environment in a temp HOME, and xdotool on the display.
import { expect } from 'vitest';
import type { SlixmppClient } from '../../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, tmpDir } from '../../support/identities.js';
import { spawnProc } from '../../support/proc.js';
import { joinChat, type ChatMember } from '../../support/tlsd-chat-member.js';
import type { CliHome } from '../../support/cli-program.js';
import { join } from 'node:path';
import { gatewayCommand } from './slixmpp-users.js';

/** `room host <name>` typed from `client` (another client of the account), and a gnutls-cli member `alias` in it. */
export async function hostedRoomWithMember(client: SlixmppClient, name: string, alias: string): Promise<ChatMember> {
  const hosted = await gatewayCommand(client, `room host ${name}`, new RegExp(`^Hosting room ${name}`));
  const port = Number(/tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:(\d+)/.exec(hosted)![1]);
  return joinChat({ port }, await makeOpensslIdentity(tmpDir(alias)), alias);
}

/** The environment of a desktop client in `home`, on `display`. */
export function desktopEnv(home: CliHome, display: string): Record<string, string> {
  return {
    HOME: home.root,
    XDG_CONFIG_HOME: home.env.XDG_CONFIG_HOME!,
    XDG_DATA_HOME: home.env.XDG_DATA_HOME!,
    XDG_CACHE_HOME: join(home.root, 'cache'),
    DISPLAY: display,
    NO_AT_BRIDGE: '1',
  };
}

/** xdotool with these arguments on `display`; it must succeed. */
export async function xdotool(display: string, ...args: string[]): Promise<void> {
  const p = await spawnProc('xdotool', args, { env: { DISPLAY: display }, stdin: 'ignore' });
  expect((await p.exited).code, p.tails()).toBe(0);
}
