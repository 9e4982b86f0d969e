// Two identities for link tests, Alice and Bob, made once per test file (RSA keys are slow), with their TLS contexts.
import { beforeAll } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { createTlsContext, type TlsContext } from '../../bridge-protocol/tls-context.js';

export interface AliceAndBob {
  alice: Identity;
  bob: Identity;
  aliceTls: TlsContext;
  bobTls: TlsContext;
}

/** Call at the top of a test file: the fields are there from its beforeAll on. */
export function aliceAndBob(): AliceAndBob {
  const who = {} as AliceAndBob;
  beforeAll(async () => {
    const [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
    Object.assign(who, { alice, bob, aliceTls: createTlsContext(alice), bobTls: createTlsContext(bob) });
  });
  return who;
}
