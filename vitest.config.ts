import { defineConfig } from 'vitest/config';
import { OPENSSL_CONFIG_FLAG } from './gateway/daemon/openssl-config.js';

// Interop suites start real programs (openssl, gnutls, bitlbee, prosody, tor):
// generous timeouts, and files run in a small pool because CI machines have 2 cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Gateways in test processes run with the OpenSSL settings the product starts with (bin/tlsim-gateway).
    poolOptions: { forks: { maxForks: 2, minForks: 1, execArgv: [OPENSSL_CONFIG_FLAG] } },
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['test/support/global-setup.ts'],
  },
});
