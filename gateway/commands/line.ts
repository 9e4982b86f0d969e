// Typed command lines ("add tlsim://…", "rename Alice Smith Alice") → a command name and its
// arguments, for the chat bot and the CLI. Names may contain spaces; "double quotes" group words.
import { SHARE_SCHEME } from '../bridge/share-string.js';
import { COMMANDS } from './catalog.js';
import { CommandError, resolvePeer } from './resolve.js';
import type { CommandContext } from './types.js';

export interface ParsedLine {
  name: string;
  args: Record<string, string>;
}

/** Words of a line; a "quoted part" is one word without its quotes. */
export function words(s: string): string[] {
  return [...s.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The command word (any case) and the rest of the line; unknown names are the caller's concern. */
export function splitCommand(line: string): { name: string; rest: string } {
  const s = line.trim();
  const space = s.search(/\s/);
  return space < 0 ? { name: s.toLowerCase(), rest: '' } : { name: s.slice(0, space).toLowerCase(), rest: s.slice(space).trim() };
}

export function parseLine(ctx: CommandContext, line: string): ParsedLine {
  const split = splitCommand(line);
  // "room add …", "room list", "room remove …" are the commands room-add, room-list, room-remove.
  const { name, rest } = split.name === 'room' ? roomCommand(split.rest) : split.name === 'profile' && split.rest ? profileCommand(split.rest) : split;
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) return { name, args: {} };
  if (name === 'add') return { name, args: addArgs(words(rest)) };
  if (name === 'rename') return { name, args: renameArgs(ctx, rest) };
  if (name === 'room-add') {
    const [share, ...named] = words(rest);
    return { name, args: { ...(share !== undefined && { share }), ...(named.length > 0 && { name: named.join(' ') }) } };
  }
  // Several one-word arguments in order (room host <name> [policy], room allow <room> <peer> <alias>, …).
  const positional = POSITIONAL[name];
  if (positional) return { name, args: Object.fromEntries(words(rest).slice(0, positional.length).map((w, i) => [positional[i]!, w])) };
  if (name === 'profile-set') {
    const sub = splitCommand(rest);
    return { name, args: { ...(sub.name && { field: sub.name }), ...(sub.rest && { value: sub.rest }) } };
  }
  // Otherwise one parameter at most: it takes the rest of the line (a name with spaces).
  const first = spec.params[0];
  if (!first || !rest) return { name, args: {} };
  const w = words(rest);
  return { name, args: { [first.name]: w.length === 1 ? w[0]! : rest } };
}

const POSITIONAL: Record<string, readonly string[]> = {
  'room-host': ['room', 'policy'],
  'room-allow': ['room', 'peer', 'alias'],
  'room-ban': ['room', 'who'],
};

function roomCommand(rest: string): { name: string; rest: string } {
  const sub = splitCommand(rest);
  if (!sub.name) throw new CommandError('room needs a command: room add <share-string> [name], room list, room remove <name>, room host <name> [open|members], room allow, room ban, room members');
  return { name: `room-${sub.name}`, rest: sub.rest };
}

function profileCommand(rest: string): { name: string; rest: string } {
  const sub = splitCommand(rest);
  if (sub.name !== 'set') throw new CommandError('profile shows your profile; profile set <field> <value> changes it');
  return { name: 'profile-set', rest: sub.rest };
}

/** `add <share-string> [name]`, `add <fp> <host> <port> [name]`, `add <fp> <host:port> [name]`, `add <fp>`. */
function addArgs(w: string[]): Record<string, string> {
  const [peer, a, b] = w;
  if (peer === undefined) return {};
  const named = (from: number): Record<string, string> => (w.length > from ? { name: w.slice(from).join(' ') } : {});
  if (peer.toLowerCase().startsWith(SHARE_SCHEME) || a === undefined) return { peer, ...named(1) };
  if (b !== undefined && /^[0-9]+$/.test(b)) return { peer, address: `${a} ${b}`, ...named(3) };
  if (/:[0-9]+$/.test(a)) return { peer, address: a, ...named(2) };
  throw new CommandError('after the fingerprint give the address: add <fingerprint> <host> <port> [name]');
}

/**
 * `rename <contact> <new name>` where both may have spaces: the longest run of leading words
 * that names a contact is the contact ("rename Alice Smith Ally" renames "Alice Smith" if that
 * contact exists, else "Alice"). Quotes settle it: `rename "Alice Smith" Ally`.
 */
function renameArgs(ctx: CommandContext, rest: string): Record<string, string> {
  const quoted = /^"([^"]*)"\s*(.*)$/s.exec(rest);
  if (quoted) return { contact: quoted[1]!, name: quoted[2]! };
  const w = rest.split(/\s+/).filter(Boolean);
  if (w.length === 0) return {};
  const among = COMMANDS.find((c) => c.name === 'rename')!.params[0]!.among;
  for (let k = w.length - 1; k >= 1; k--) {
    const contact = w.slice(0, k).join(' ');
    try {
      resolvePeer(ctx.network, ctx.peerDomain, contact, among ? { among } : {});
      return { contact, name: w.slice(k).join(' ') };
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
    }
  }
  // Nothing matched: the first word is the contact, so the error names what was not found.
  return { contact: w[0]!, ...(w.length > 1 && { name: w.slice(1).join(' ') }) };
}
