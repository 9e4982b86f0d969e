// `tlsim-gateway account add|list|remove`: the local accounts of one gateway (a household, a small team),
// on the running gateway through its control socket (an added account is online at once, a removed one
// cut off), or on the data directory when it is stopped.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AccountError, accountsText, type AccountInfo } from '../accounts/local-accounts.js';
import type { ControlRequest } from '../control/protocol.js';
import { CliError, loadContext, parseCommandArgs, printJson, UsageError, type CliContext } from './common.js';
import { askGateway, withLocalAccounts } from './gateway-access.js';

export const ACCOUNT_USAGE = `usage: tlsim-gateway account <command> [options]

  account add <name> [--password-file F]   a new account <name>@<account.domain> with its own tlsim identity,
                                           share string, contacts and history; the password is read from F,
                                           or generated (shown once on a terminal, kept 0600 in its directory)
  account list [--json]                    every account: JID, fingerprint, share string, peer port, contacts
  account remove <name> [--yes]            deletes the account's identity, keys, contacts, queue and history;
                                           the default account (account.user) only with --yes, with the gateway
                                           stopped (it is made afresh at the next start)

The accounts chat with each other through the gateway and each finds the others in its roster
("This gateway"). Works whether or not the gateway runs: a running gateway brings an added account
online at once and cuts a removed one off.`;

export async function accountMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, ACCOUNT_USAGE, {
    json: { type: 'boolean' },
    yes: { type: 'boolean' },
    'password-file': { type: 'string' },
  });
  if (!parsed) return 0;
  const [sub, ...rest] = parsed.positionals;
  if (sub !== 'add' && sub !== 'list' && sub !== 'remove') {
    throw new UsageError(sub ? `unknown account command "${sub}"` : 'account needs a command', ACCOUNT_USAGE);
  }
  if (rest.length !== (sub === 'list' ? 0 : 1)) throw new UsageError(sub === 'list' ? 'account list takes no arguments' : `account ${sub} needs one name`, ACCOUNT_USAGE);
  const passwordFile = typeof parsed.values['password-file'] === 'string' ? resolve(parsed.values['password-file']) : undefined;
  if (passwordFile && sub !== 'add') throw new UsageError('--password-file goes with account add', ACCOUNT_USAGE);
  const ctx = await loadContext(parsed.values);
  if (ctx.config.gateway.mode === 'component') throw new CliError('account: in component mode users register from their XMPP client (see tlsim-gateway users)');
  const name = rest[0]!;
  try {
    if (sub === 'list') return await list(ctx, Boolean(parsed.values.json));
    if (sub === 'add') return await add(ctx, name, passwordFile, Boolean(parsed.values.json));
    return await remove(ctx, name, Boolean(parsed.values.yes));
  } catch (err) {
    if (err instanceof AccountError) throw new CliError(err.message);
    throw err;
  }
}

/** The running gateway's answer (its data), or undefined when none runs. */
async function ask(ctx: CliContext, req: ControlRequest & { op: 'account' }): Promise<{ text: string; data?: unknown } | undefined> {
  const res = await askGateway(ctx.dataDir, req);
  if (!res) return undefined;
  if ('error' in res) throw new CliError(res.error);
  if ('status' in res) throw new CliError('unexpected answer from the gateway');
  if (!res.ok) throw new CliError(res.text);
  return res;
}

async function list(ctx: CliContext, json: boolean): Promise<number> {
  const live = await ask(ctx, { op: 'account', action: 'list' });
  const lines = live
    ? (live.data as AccountInfo[])
    : await withLocalAccounts(ctx, (accounts) => Promise.all(accounts.accounts().map((a) => accounts.info(a))));
  if (json) printJson(lines);
  else process.stdout.write(`${accountsText(lines)}\n`);
  return 0;
}

async function add(ctx: CliContext, name: string, passwordFile: string | undefined, json: boolean): Promise<number> {
  const live = await ask(ctx, { op: 'account', action: 'add', name, ...(passwordFile && { passwordFile }) });
  let info: AccountInfo;
  let generated: boolean;
  if (live) {
    ({ generated, ...info } = live.data as AccountInfo & { generated: boolean });
  } else {
    ({ info, generated } = await withLocalAccounts(ctx, async (accounts) => {
      const made = await accounts.add(name, passwordFile ? { passwordFile } : {});
      return { info: await accounts.info(made.user.account), generated: made.generated };
    }));
  }
  if (json) {
    printJson(info);
    return 0;
  }
  // Shown once, on a terminal only: a log or a pipe must not keep it.
  const password = generated && process.stdout.isTTY ? (await readFile(info.passwordFile, 'utf8')).trim() : undefined;
  process.stdout.write(
    [
      `added ${info.jid}${live ? ' (online now)' : ' (online at the next start)'}`,
      `  password file: ${info.passwordFile}`,
      ...(password ? [`  password:      ${password}   (shown once; it stays in the file above)`] : generated ? [`  (read the password with: cat ${info.passwordFile})`] : []),
      `  fingerprint:   ${info.fingerprint ?? '-'}`,
      `  share string:  ${info.share ?? '-'}`,
      `  peer port:     ${info.peerPort ?? '-'}`,
      `Log in as ${info.jid} with the same server settings as the other accounts.`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function remove(ctx: CliContext, name: string, yes: boolean): Promise<number> {
  const defaultName = ctx.config.account.user.toLowerCase();
  if (name.toLowerCase() === defaultName && !yes) {
    throw new CliError(
      `${name} is the default account (account.user): removing it deletes its identity, contacts and history, and the next start makes a new one. Add --yes to do so.`,
    );
  }
  const live = await ask(ctx, { op: 'account', action: 'remove', name });
  const text = live ? live.text : `removed ${await withLocalAccounts(ctx, (accounts) => accounts.remove(name))}: its identity, keys, contacts, queue and history are deleted`;
  process.stdout.write(`${text}\n`);
  return 0;
}
