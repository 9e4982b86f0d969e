// The gateway's command layer: one implementation of each user action (add, list, rename, block,
// share, status, …) for three surfaces: the chat bot, XEP-0050 ad-hoc commands and the CLI.
import { AddressError, ShareStringError } from '../bridge/share-string.js';
import { StanzaError } from '../xmpp/errors.js';
import { ACTIONS } from './actions.js';
import { COMMANDS } from './catalog.js';
import { parseLine } from './line.js';
import { CommandError, clip } from './resolve.js';
import type { CommandContext, CommandResult } from './types.js';

export type { CommandContext, CommandParam, CommandResult, CommandSpec, ParamKind } from './types.js';
export { COMMANDS, findCommand, helpText } from './catalog.js';
export { CommandError, resolvePeer, shortFingerprint } from './resolve.js';
export { contactLine } from './actions.js';

const HINT = 'send "help" for the list of commands';

/**
 * Runs one command with named arguments (as an ad-hoc form or `--json` callers give them).
 * Mistakes (unknown command, missing argument, unknown contact, bad share string, what the
 * network refuses) come back as `ok: false` with a readable text; anything else is a bug and
 * is thrown, for the surface to log.
 */
export async function runCommand(ctx: CommandContext, name: string, args: Record<string, string>): Promise<CommandResult> {
  const spec = COMMANDS.find((c) => c.name === name.trim().toLowerCase());
  const action = spec && ACTIONS[spec.name];
  if (!spec || !action) return { ok: false, text: `unknown command "${clip(name)}"; ${HINT}` };
  const missing = spec.params.find((p) => p.required && !args[p.name]?.trim());
  if (missing) return { ok: false, text: `${spec.name} needs ${missing.label.toLowerCase()}. Usage: ${spec.usage.split(' | ').join('  or  ')}` };
  try {
    return await action(ctx, args);
  } catch (err) {
    const text = userMistake(err);
    if (text === undefined) throw err;
    return { ok: false, text };
  }
}

/** Runs a typed line: "add tlsim://…", "add <fp> <host> <port> [name…]", "list", "rename Alice Ally", … */
export async function runCommandLine(ctx: CommandContext, line: string): Promise<CommandResult> {
  if (!line.trim()) return { ok: false, text: `empty command; ${HINT}` };
  try {
    const { name, args } = parseLine(ctx, line);
    return await runCommand(ctx, name, args);
  } catch (err) {
    const text = userMistake(err);
    if (text === undefined) throw err;
    return { ok: false, text };
  }
}

/** XEP-0050 command nodes on the server domain: every command that makes sense as a form. */
export function adHocItems(): Array<{ node: string; name: string }> {
  return COMMANDS.filter((c) => !c.chatOnly).map((c) => ({ node: c.name, name: c.title }));
}

/** The readable reason of an error the user caused, or undefined for a bug. */
function userMistake(err: unknown): string | undefined {
  if (err instanceof CommandError || err instanceof ShareStringError || err instanceof AddressError) return err.message;
  // The network refuses with StanzaErrors (e.g. "no pending request from this peer").
  if (err instanceof StanzaError) return err.text ?? err.condition.replace(/-/g, ' ');
  return undefined;
}
