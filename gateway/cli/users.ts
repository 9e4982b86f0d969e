// `tlsim-gateway users [--json]`: the registered users of a gateway in component mode, from the
// running gateway (with their link state) or, when it is stopped, from its data directory.
import { listUsers, usersText } from '../component/user-list.js';
import { UserRegistry } from '../accounts/registry.js';
import { openStore } from '../store/index.js';
import { CliError, loadContext, parseCommandArgs, printJson, UsageError } from './common.js';
import { askGateway } from './gateway-access.js';

export const USERS_USAGE = `usage: tlsim-gateway users [--json] [options]

Component mode (gateway.mode = "component"): every registered XMPP user with their tlsim fingerprint,
their contacts and queued messages, and whether their peer links are up.`;

export async function usersMain(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, USERS_USAGE, { json: { type: 'boolean' } });
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`users takes no arguments (got "${parsed.positionals[0]}")`, USERS_USAGE);
  const ctx = await loadContext(parsed.values);
  if (ctx.config.gateway.mode !== 'component') throw new CliError('users: the gateway is not in component mode (gateway.mode = "local"): its one user is in status');
  const res = await askGateway(ctx.dataDir, { op: 'command', line: 'users' });
  let data: unknown;
  let text: string;
  if (res) {
    if (!('data' in res) || !res.ok) throw new CliError('error' in res ? res.error : 'text' in res ? res.text : 'unexpected answer from the gateway');
    data = res.data;
    text = res.text;
  } else {
    const store = openStore(ctx.dataDir);
    try {
      const users = await listUsers(store, new UserRegistry(store, ctx.dataDir));
      data = users;
      text = usersText(users);
    } finally {
      store.close();
    }
  }
  if (parsed.values.json) printJson(data);
  else process.stdout.write(`${text}\n`);
  return 0;
}
