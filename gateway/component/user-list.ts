// What an administrator sees of the transport mode's users (`tlsim-gateway users`): each registered
// JID with its tlsim fingerprint, contacts, queued messages and whether its peer links are up.
import { loadIdentity } from '../bridge/peer-protocol.js';
import { queuedCount } from '../daemon/status.js';
import type { Store } from '../store/index.js';
import type { Transport } from './transport.js';
import type { UserRegistry } from '../accounts/registry.js';

export interface UserLine {
  jid: string;
  fingerprint: string | null;
  /** Peer links up now (false for a stopped gateway). */
  linked: boolean;
  contacts: number;
  queued: number;
  registeredAt: string;
}

/** Every registered user; `transport` when the gateway runs, for link state. */
export async function listUsers(store: Store, registry: UserRegistry, transport?: Transport): Promise<UserLine[]> {
  const lines: UserLine[] = [];
  for (const account of registry.accounts()) {
    const live = transport?.user(account.jid);
    const fingerprint = live
      ? live.network.selfInfo().fingerprint
      : // Read only: loading the whole user would make a missing onion key.
        await loadIdentity(registry.dirOf(account.jid)).then((id) => id.fingerprint, () => null);
    lines.push({
      jid: account.jid,
      fingerprint,
      linked: live?.network.on ?? false,
      contacts: store.contacts.list(account.id, 'contact').length,
      queued: queuedCount(store, account.id),
      registeredAt: account.createdAt.toISOString(),
    });
  }
  return lines;
}

export function usersText(lines: UserLine[]): string {
  if (lines.length === 0) return 'no registered users';
  return lines
    .map((u) => `${u.jid}  ${u.fingerprint ?? '(no identity)'}  ${u.linked ? 'linked' : 'not linked'}, ${u.contacts} contacts, ${u.queued} queued`)
    .join('\n');
}
