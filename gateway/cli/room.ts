// `tlsim-gateway room add|list|remove`: the gateway's room commands (gateway/commands), on the live gateway
// through its control socket or, when it is stopped, on the stored rooms, as `peer` does.
import { loadContext, parseCommandArgs, printJson, UsageError } from './common.js';
import { runPeerCommand } from './gateway-access.js';

export const ROOM_USAGE = `usage: tlsim-gateway room <command> [--json]

  room add <share-string> [name]   add a reference chat room (tlsd-chat) from its tlsim://<fingerprint>@<host>:<port>;
                                   join it from your client as <name>@conference.<domain>
  room list [--json]               the rooms, with their JID, address and fingerprint
  room remove <name>               (a room you host stops, and its members are forgotten)
  room host <name> [open|members]  host a room of your own; prints its share string for others
  room allow <room> <contact or fingerprint> <alias>
  room ban <room> <alias or fingerprint>
  room members <room> [--json]     who is in a room you host, and its members

Works whether or not the gateway runs: a stopped gateway picks the changes up at its next start
(a hosted room listens only while the gateway runs).`;

const ARGS: Record<string, [number, number]> = { add: [1, 2], list: [0, 0], remove: [1, 1], host: [1, 2], allow: [3, 3], ban: [2, 2], members: [1, 1] };

export async function roomMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, ROOM_USAGE, { json: { type: 'boolean' } });
  if (!parsed) return 0;
  const [sub, ...rest] = parsed.positionals;
  if (!sub) throw new UsageError('room needs a command', ROOM_USAGE);
  const range = ARGS[sub];
  if (!range) throw new UsageError(`unknown room command "${sub}"`, ROOM_USAGE);
  if (rest.length < range[0] || rest.length > range[1]) throw new UsageError(`room ${sub} takes ${range[0] === range[1] ? range[0] : `${range[0]} or ${range[1]}`} argument(s)`, ROOM_USAGE);
  if (rest.some((w) => /["\s]/.test(w))) throw new UsageError('room arguments are single words without quotes', ROOM_USAGE);
  const ctx = await loadContext(parsed.values);
  const result = await runPeerCommand(ctx, ['room', sub, ...rest].join(' '));
  if (parsed.values.json) printJson(sub === 'list' && result.ok ? (result.data ?? []) : result);
  else (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
  return result.ok ? 0 : 1;
}
