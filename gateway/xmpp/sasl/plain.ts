// PLAIN, server side (RFC 4616; RFC 6120 §6.4). Sends the password in the clear inside the
// stream, so the stream core offers it only over TLS unless configured otherwise.
import {
  authzidAllowed,
  decodeUtf8,
  SaslFailure,
  saslprepLite,
  type SaslExchange,
  type SaslMechanism,
  type SaslStartOptions,
  type SaslStep,
} from './mechanism.js';

export function plainMechanism(verify: (username: string, password: string) => boolean): SaslMechanism {
  return {
    name: 'PLAIN',
    needsTls: true,
    start(opts: SaslStartOptions = {}): SaslExchange {
      let askedForResponse = false;
      let done = false;
      let claimed: string | undefined;
      return {
        get username() {
          return claimed;
        },
        step(clientMessage: Buffer): SaslStep {
          if (done) throw new SaslFailure('malformed-request', 'the exchange is over');
          if (clientMessage.length === 0 && !askedForResponse) {
            // No initial response: an empty challenge asks for it (RFC 6120 §6.4.2), once.
            askedForResponse = true;
            return { kind: 'challenge', data: Buffer.alloc(0) };
          }
          done = true;
          return {
            kind: 'success',
            username: check(clientMessage, (username, password) => {
              claimed = username;
              opts.admit?.(username);
              return verify(username, password);
            }),
          };
        },
      };
    },
  };
}

/** message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2); returns the username. */
function check(data: Buffer, verify: (username: string, password: string) => boolean): string {
  const parts = decodeUtf8(data, 'PLAIN message').split('\0');
  if (parts.length !== 3) throw new SaslFailure('malformed-request', 'expected authzid, authcid and password');
  const [authzid, authcid, passwd] = parts as [string, string, string];
  if (authcid === '' || passwd === '') throw new SaslFailure('malformed-request', 'empty username or password');
  const username = saslprepLite(authcid);
  if (!username) throw new SaslFailure('malformed-request', 'bad username');
  if (!authzidAllowed(authzid, username)) throw new SaslFailure('invalid-authzid', 'cannot act as another user');
  // The password is normalized by the verifier (it owns the comparison); never in any message.
  if (!verify(username, passwd)) throw new SaslFailure('not-authorized');
  return username;
}
