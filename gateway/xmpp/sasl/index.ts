// The SASL mechanisms the local accounts offer, strongest first (RFC 6120 §6.3.3;
// RFC 7677, RFC 5802, RFC 4616). SCRAM-SHA-1 is kept for Pidgin and Dino, PLAIN for
// bitlbee; no DIGEST-MD5 (Pidgin's Cyrus builds fail on it) and no -PLUS.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LocalAccount } from '../local-account.js';
import type { SaslExchange, SaslMechanism, SaslStartOptions, SaslStep } from './mechanism.js';
import { plainMechanism } from './plain.js';
import { scramMechanism, type ScramHash } from './scram.js';

export * from './mechanism.js';
export { plainMechanism } from './plain.js';
export { deriveScramCredentials, scramMechanism, type ScramCredentials, type ScramHash } from './scram.js';

/** (Additive) The local account a SASL username names (case-insensitively), if any. */
export type AccountLookup = (username: string) => LocalAccount | undefined;

/** One account, or every account of the gateway through a lookup. */
export function createMechanisms(accounts: LocalAccount | AccountLookup): SaslMechanism[] {
  // Localparts are case-insensitive (RFC 7622 §3.3): Pidgin, for one, lowercases the JID
  // it was given before sending the username.
  const find: AccountLookup =
    typeof accounts === 'function' ? accounts : (username) => (username.toLowerCase() === accounts.username.toLowerCase() ? accounts : undefined);
  const lookup = (hash: ScramHash) => (username: string) => find(username)?.scramCredentials(hash);
  // An unknown username is checked against a password nobody has, so timing does not tell which was wrong.
  const decoy = randomBytes(32);
  const verifyDecoy = (password: string): boolean => {
    timingSafeEqual(createHash('sha256').update(password, 'utf8').digest(), decoy);
    return false;
  };
  return [
    scramMechanism('SHA-256', lookup('SHA-256')),
    scramMechanism('SHA-1', lookup('SHA-1')),
    plainMechanism((username, password) => {
      const account = find(username);
      return account ? account.verifyPassword(password) : verifyDecoy(password);
    }),
  ].map((m) => withCanonicalUsername(m, find));
}

/** Success reports the account's own spelling, so the stream binds one JID however the client typed it. */
function withCanonicalUsername(mech: SaslMechanism, find: AccountLookup): SaslMechanism {
  return {
    name: mech.name,
    needsTls: mech.needsTls,
    start(opts?: SaslStartOptions): SaslExchange {
      const exchange = mech.start(opts);
      return {
        get username() {
          return exchange.username;
        },
        step(clientMessage: Buffer): SaslStep {
          const step = exchange.step(clientMessage);
          return step.kind === 'success' ? { ...step, username: find(step.username)?.username ?? step.username } : step;
        },
      };
    },
  };
}
