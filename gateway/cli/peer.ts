// `tlsim-gateway peer add|list|rename|remove|block|unblock`: command lines for gateway/commands, run on the
// live gateway through its control socket or, when it is stopped, on the stored contacts.
import { loadContext, parseCommandArgs, printJson, UsageError } from './common.js';
import { runPeerCommand } from './gateway-access.js';

export const PEER_USAGE = `usage: tlsim-gateway peer <command> [--json] [options]

  peer add <share-string> [name]           add a peer from its tlsim://<fingerprint>@<host>:<port>
  peer add <fingerprint> <host> <port> [name]
  peer list [--json]                       contacts with name, fingerprint, link, state and address
  peer rename <contact> <new name>         a contact is its name, fingerprint or a fingerprint prefix
  peer remove <contact>
  peer block <contact or fingerprint>
  peer unblock <contact>

Works whether or not the gateway runs: a stopped gateway picks the changes up at its next start.`;

/** How many words each subcommand needs at least. */
const MIN_ARGS: Record<string, number> = { add: 1, list: 0, rename: 2, remove: 1, block: 1, unblock: 1 };

export async function peerMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, PEER_USAGE, { json: { type: 'boolean' } });
  if (!parsed) return 0;
  const [sub, ...rest] = parsed.positionals;
  if (!sub) throw new UsageError('peer needs a command', PEER_USAGE);
  const min = MIN_ARGS[sub];
  if (min === undefined) throw new UsageError(`unknown peer command "${sub}"`, PEER_USAGE);
  if (rest.length < min) throw new UsageError(`peer ${sub} needs ${min === 1 ? 'an argument' : `${min} arguments`}`, PEER_USAGE);
  if (sub === 'list' && rest.length > 0) throw new UsageError('peer list takes no arguments', PEER_USAGE);
  if (rest.some((w) => w.includes('"'))) throw new UsageError('arguments may not contain double quotes', PEER_USAGE);
  const ctx = await loadContext(parsed.values);
  const result = await runPeerCommand(ctx, toLine(sub, rest));
  if (parsed.values.json) printJson(sub === 'list' && result.ok ? (result.data ?? []) : result);
  else (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
  return result.ok ? 0 : 1;
}

/**
 * The words as gateway/commands reads a line: a word with spaces is quoted; for rename the contact
 * is quoted so that everything after it is the new name.
 */
function toLine(sub: string, rest: string[]): string {
  const quote = (w: string): string => (/\s/.test(w) || w === '' ? `"${w}"` : w);
  if (sub === 'rename') return `rename "${rest[0]}" ${rest.slice(1).join(' ')}`;
  return [sub, ...rest.map(quote)].join(' ');
}
