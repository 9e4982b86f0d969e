// Tiny features for core tests, so stream tests do not depend on gateway/features:
// a ping that answers for the account and the server, and a probe that exposes its context.
import type { Feature, FeatureContext } from '../../gateway/xmpp/feature.js';

export const PING = `<ping xmlns='urn:xmpp:ping'/>`;

export const testPing: Feature = {
  name: 'test-ping',
  disco: { server: ['urn:xmpp:ping'] },
  setup(ctx) {
    ctx.iq('account', 'get', 'urn:xmpp:ping', 'ping', () => undefined);
    ctx.iq('server', 'get', 'urn:xmpp:ping', 'ping', () => undefined);
  },
};

/** Captures the FeatureContext so a test can deliver stanzas and watch hooks. */
export function probeFeature(): { feature: Feature; ctx: () => FeatureContext } {
  let captured: FeatureContext | undefined;
  return {
    feature: {
      name: 'test-probe',
      setup(ctx) {
        captured = ctx;
      },
    },
    ctx: () => {
      if (!captured) throw new Error('probe feature not set up');
      return captured;
    },
  };
}
