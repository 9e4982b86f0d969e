// The CLI's dispatcher: picks the command and maps outcomes to exit codes (0 ok, 1 error, 2 usage).
import { ProtocolError } from '../bridge/peer-protocol.js';
import { ListenError } from '../daemon/listen-errors.js';
import { GatewayLockedError } from '../daemon/lock.js';
import { StoreError } from '../store/index.js';
import { ConfigError } from '../xmpp/errors.js';
import { LocalCaError } from '../xmpp/local-ca.js';
import { AccountsXmlError } from '../../clients/pidgin/accounts-xml.js';
import { CliError, GLOBAL_HELP, splitCommand, UsageError } from './common.js';
import { accountMain } from './account.js';
import { importIdentityMain } from './import-identity.js';
import { initMain } from './init.js';
import { openMain } from './open.js';
import { serviceMain } from './service.js';
import { setupMain } from './setup.js';
import { peerMain } from './peer.js';
import { roomMain } from './room.js';
import { usersMain } from './users.js';
import { runMain } from './run.js';
import { shareMain, statusMain } from './status.js';

export const USAGE = `usage: tlsim-gateway [command] [options]

Use tlsim peers from your XMPP client (Pidgin, Gajim, Dino, ...).

Commands:
  run                 run the gateway (the default; what "npm start" runs)
  init                create the identity, password, certificates and a commented config file
  status [--json]     is it running, which ports, your account and share string
  share               print your share string
  open [--print]      log in to the status page and web chat (a one-time link, opened in your browser)
  setup CLIENT        put the account into pidgin or profanity (files), or print the steps for gajim, dino
  service install     run it as a systemd service (--user, the default, or --system); service uninstall
  peer ...            add, list, rename, remove, block, unblock peers (peer --help)
  room ...            reference chat rooms as group chats: add, list, remove (room --help)
  account ...         several local accounts on one gateway: add, list, remove (account --help)
  users [--json]      component mode: the registered XMPP users and their fingerprints
  import-identity     keep an existing tlsim key and certificate (import-identity --help)

Run "tlsim-gateway <command> --help" for a command's options.`;

/** Failures a user causes or can fix (bad config, port in use, locked data directory, bad key file): one line, no stack. */
const EXPECTED = [AccountsXmlError, CliError, ConfigError, GatewayLockedError, ListenError, ProtocolError, LocalCaError, StoreError];

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  run: runMain,
  init: initMain,
  status: statusMain,
  share: shareMain,
  open: openMain,
  setup: setupMain,
  service: serviceMain,
  peer: peerMain,
  room: roomMain,
  account: accountMain,
  users: usersMain,
  'import-identity': importIdentityMain,
};

export async function main(argv: string[]): Promise<number> {
  const { command, rest } = splitCommand(argv);
  if (command === 'help' || (command === undefined && (rest.includes('--help') || rest.includes('-h')))) {
    process.stdout.write(`${USAGE}\n\n${GLOBAL_HELP}\n`);
    return 0;
  }
  const run = COMMANDS[command ?? 'run'];
  if (!run) {
    process.stderr.write(`tlsim-gateway: unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tlsim-gateway: ${err.message}\n\n${err.usage}\n`);
      return 2;
    }
    // Expected failures (bad config, port in use, locked data directory) get one line; bugs get the stack.
    const known = EXPECTED.some((cls) => err instanceof cls) || isSystemError(err) || isSystemError((err as Error)?.cause);
    process.stderr.write(`tlsim-gateway: ${known ? (err as Error).message : ((err as Error)?.stack ?? String(err))}\n`);
    return 1;
  }
}

/** EACCES, ENOSPC, ...: the message names the file and the reason, which is what the user needs. */
function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
