// The SASL mechanisms the local account offers, strongest first (RFC 6120 §6.3.3;
// RFC 7677, RFC 5802, RFC 4616). SCRAM-SHA-1 is kept for Pidgin and Dino, PLAIN for
// bitlbee; no DIGEST-MD5 (Pidgin's Cyrus builds fail on it) and no -PLUS.
import type { LocalAccount } from '../local-account.js';
import type { SaslExchange, SaslMechanism, SaslStep } from './mechanism.js';
import { plainMechanism } from './plain.js';
import { scramMechanism, type ScramHash } from './scram.js';

export * from './mechanism.js';
export { plainMechanism } from './plain.js';
export { deriveScramCredentials, scramMechanism, type ScramCredentials, type ScramHash } from './scram.js';

export function createMechanisms(account: LocalAccount): SaslMechanism[] {
  // Localparts are case-insensitive (RFC 7622 §3.3): Pidgin, for one, lowercases the JID
  // it was given before sending the username.
  const isUser = (username: string) => username.toLowerCase() === account.username.toLowerCase();
  const lookup = (hash: ScramHash) => (username: string) => (isUser(username) ? account.scramCredentials(hash) : undefined);
  return [
    scramMechanism('SHA-256', lookup('SHA-256')),
    scramMechanism('SHA-1', lookup('SHA-1')),
    // The password is checked first whatever the username, so timing does not tell which was wrong.
    plainMechanism((username, password) => account.verifyPassword(password) && isUser(username)),
  ].map((m) => withCanonicalUsername(m, account.username));
}

/** Success reports the account's own spelling, so the stream binds one JID however the client typed it. */
function withCanonicalUsername(mech: SaslMechanism, username: string): SaslMechanism {
  return {
    name: mech.name,
    needsTls: mech.needsTls,
    start(): SaslExchange {
      const exchange = mech.start();
      return {
        step(clientMessage: Buffer): SaslStep {
          const step = exchange.step(clientMessage);
          return step.kind === 'success' ? { ...step, username } : step;
        },
      };
    },
  };
}
