// For SASL mechanism tests: the SaslFailure a step throws.
import { SaslFailure } from '../../gateway/xmpp/sasl/mechanism.js';

/** Runs `fn` and returns the SaslFailure it throws; any other error is rethrown, no throw fails. */
export function failureOf(fn: () => unknown): SaslFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof SaslFailure) return err;
    throw err;
  }
  throw new Error('expected a SaslFailure');
}
