// The local CA and server certificate as openssl reads them (RFC 5280 path validation,
// RFC 6125 names): what a user's system trust store and TLS clients will see.
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadOrCreateServerTls, type ServerTls } from '../../gateway/xmpp/local-ca.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';

const run = promisify(execFile);
const openssl = async (...args: string[]) => (await run('openssl', args)).stdout;

afterAll(removeTmpDirs);

interopSuite('local CA', ['openssl'], () => {
  let tls: ServerTls;

  beforeAll(async () => {
    tls = await loadOrCreateServerTls(tmpDir(), 'tlsim.localhost', { extraNames: ['gw.example', '10.0.0.7'] });
  });

  it('openssl verifies the server certificate against the CA, for TLS server use', async () => {
    expect(await openssl('verify', '-CAfile', tls.caCertFile, tls.certFile)).toContain(': OK');
    expect(await openssl('verify', '-CAfile', tls.caCertFile, '-purpose', 'sslserver', tls.certFile)).toContain(': OK');
  });

  it('openssl checks the names and addresses clients connect with', async () => {
    for (const host of ['tlsim.localhost', 'localhost', 'gw.example']) {
      const out = await openssl('verify', '-CAfile', tls.caCertFile, '-verify_hostname', host, tls.certFile);
      expect(out).toContain(': OK');
    }
    for (const ip of ['127.0.0.1', '::1', '10.0.0.7']) {
      expect(await openssl('verify', '-CAfile', tls.caCertFile, '-verify_ip', ip, tls.certFile)).toContain(': OK');
    }
    await expect(openssl('verify', '-CAfile', tls.caCertFile, '-verify_hostname', 'example.org', tls.certFile)).rejects.toThrow(
      /hostname mismatch/,
    );
  });

  it('openssl finds every SAN', async () => {
    const san = await openssl('x509', '-in', tls.certFile, '-noout', '-ext', 'subjectAltName');
    const names = ['DNS:tlsim.localhost', 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1'];
    for (const name of [...names, 'DNS:gw.example', 'IP Address:10.0.0.7']) expect(san).toContain(name);
  });

  it('the CA is a CA that signs certificates, the server certificate is for servers, both SHA-256 RSA-2048', async () => {
    const ca = await openssl('x509', '-in', tls.caCertFile, '-noout', '-text');
    expect(ca).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(ca).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(ca).toContain('sha256WithRSAEncryption');
    expect(ca).toContain('Public-Key: (2048 bit)');
    const server = await openssl('x509', '-in', tls.certFile, '-noout', '-text');
    expect(server).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(server).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(server).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(server).toContain('sha256WithRSAEncryption');
    expect(server).toContain('Public-Key: (2048 bit)');
    expect(server).toMatch(/Subject: CN ?= ?tlsim\.localhost/);
    // The key identifiers chain the server certificate to the CA.
    const caSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(ca)?.[1];
    expect(caSki).toBeTruthy();
    expect(server).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caSki}`));
  });

  it('openssl reads the private keys, which match the certificates', async () => {
    const pub = async (args: string[]) => (await run('openssl', args)).stdout;
    expect(await pub(['pkey', '-in', tls.keyFile, '-pubout'])).toBe(await pub(['x509', '-in', tls.certFile, '-noout', '-pubkey']));
  });

  it('an openssl s_client that trusts only the CA completes a handshake with a server using the certificate', async () => {
    const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const { stdout } = await run('sh', [
        '-c',
        'openssl s_client -connect "127.0.0.1:$1" -servername localhost -verify_hostname localhost -CAfile "$2" -verify_return_error </dev/null',
        'sh',
        String(port),
        tls.caCertFile,
      ]);
      expect(stdout).toContain('Verify return code: 0 (ok)');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
