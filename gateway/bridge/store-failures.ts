// Store failures a user can act on, as the XMPP errors their client shows (the one place that maps them): a full
// queue, a text over the store's limit, a full disk, a database the gateway cannot write. Anything else is left as
// it is (logged by the core as internal-server-error).
import { StoreError } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';

export function storeFailure(err: unknown): unknown {
  if (err instanceof StoreError) {
    if (err.code === 'queue-full') return new StanzaError('resource-constraint', `not kept: ${err.message}; send again once the peer is back`);
    if (err.code === 'too-large') return new StanzaError('not-acceptable', `not kept: ${err.message}`);
    return err;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return err;
  if (code === 'SQLITE_FULL') return new StanzaError('resource-constraint', "not kept: the gateway's disk is full");
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') {
    return new StanzaError('internal-server-error', `not kept: the gateway cannot write its database (${code})`);
  }
  return err;
}
