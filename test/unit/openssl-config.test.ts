// The process-wide OpenSSL settings (gateway/daemon/openssl.cnf): found from the sources, recognised however
// node was given them, and really in force in the test processes (no TLS 1.3 session ticket is sent).
import { connect, createSecureContext, TLSSocket } from 'node:tls';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENSSL_CONFIG_FILE, OPENSSL_CONFIG_FLAG, opensslConfigActive, opensslConfigWarning } from '../../gateway/daemon/openssl-config.js';
import { selfSigned } from '../support/identities.js';

describe('the gateway OpenSSL settings', () => {
  it('are a file of the package, recognised on the command line, in NODE_OPTIONS and in OPENSSL_CONF', () => {
    expect(existsSync(OPENSSL_CONFIG_FILE)).toBe(true);
    expect(opensslConfigActive([OPENSSL_CONFIG_FLAG], {})).toBe(true);
    expect(opensslConfigActive([], { NODE_OPTIONS: `--max-old-space-size=100 ${OPENSSL_CONFIG_FLAG}` })).toBe(true);
    expect(opensslConfigActive([], { OPENSSL_CONF: OPENSSL_CONFIG_FILE })).toBe(true);
    expect(opensslConfigActive([], {})).toBe(false);
    expect(opensslConfigActive(['--openssl-config=/etc/ssl/openssl.cnf'], {})).toBe(false);
  });

  it('are in force here: a TLS 1.3 server of this process sends no session ticket (what lets tlsd dial us)', async () => {
    expect(opensslConfigWarning()).toBeUndefined();
    const { key, cert } = selfSigned('tickets');
    const ctx = createSecureContext({ key, cert, minVersion: 'TLSv1.3' });
    // The server writes one byte once the handshake is done: tickets, if any, are sent before it.
    const server = createServer((raw) => {
      const tls = new TLSSocket(raw, { isServer: true, secureContext: ctx }).on('error', () => {});
      tls.once('secure', () => tls.write('x'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
    let tickets = 0;
    client.on('session', () => tickets++);
    await new Promise((r) => client.once('data', r));
    expect(client.getProtocol()).toBe('TLSv1.3');
    client.destroy();
    server.close();
    expect(tickets).toBe(0);
  });
});
