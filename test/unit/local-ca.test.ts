// The local CA and server certificate (RFC 5280, RFC 6125): files and modes, reuse and
// re-issue, and a real Node TLS handshake from a client that trusts only the CA.
import { X509Certificate } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { checkServerIdentity, connect, createServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { ipHex, LocalCaError, loadOrCreateServerTls, type ServerTls } from '../../gateway/xmpp/local-ca.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(removeTmpDirs);

const mode = async (p: string) => (await stat(p)).mode & 0o777;

/**
 * A handshake with a client that trusts only `ca` and checks the certificate against `name`
 * the default way, as a client configured with that server name (or address) does.
 */
async function handshake(tls: ServerTls, ca: string, name: string): Promise<void> {
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca,
        ...(isIP(name) ? {} : { servername: name }),
        checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
      });
      socket.once('secureConnect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('local CA', () => {
  const dir = tmpDir();
  let tls: ServerTls;

  it('creates the CA and a server certificate in <dataDir>/tls with private keys 0600', async () => {
    tls = await loadOrCreateServerTls(dir, 'tlsim.localhost', { extraNames: ['gw.example', '192.168.1.5'] });
    expect(tls.caCertFile).toBe(join(dir, 'tls', 'ca.pem'));
    expect(tls.certFile).toBe(join(dir, 'tls', 'server.pem'));
    expect(tls.keyFile).toBe(join(dir, 'tls', 'server-key.pem'));
    expect(await mode(join(dir, 'tls'))).toBe(0o700);
    expect(await mode(tls.keyFile)).toBe(0o600);
    expect(await mode(join(dir, 'tls', 'ca-key.pem'))).toBe(0o600);
    expect(await readFile(tls.certFile, 'utf8')).toBe(tls.certPem);
    expect(await readFile(tls.keyFile, 'utf8')).toBe(tls.keyPem);
    expect(await readFile(tls.caCertFile, 'utf8')).toBe(tls.caCertPem);

    const ca = new X509Certificate(tls.caCertPem);
    const cert = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:tlsim.localhost, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:gw.example, IP Address:192.168.1.5',
    );
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(ca.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    // Serials are 16 bytes led by 0x40-0x7f (positive, minimally encoded), never a leading zero
    // byte that OpenSSL would refuse to load: that failed ~1 gateway in 256 in the suite.
    for (const c of [ca, cert]) expect(c.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
  });

  it('is trusted by a TLS client that knows only the CA, by name and by address', async () => {
    await handshake(tls, tls.caCertPem, 'localhost');
    await handshake(tls, tls.caCertPem, 'tlsim.localhost');
    await handshake(tls, tls.caCertPem, '127.0.0.1');
    await handshake(tls, tls.caCertPem, '::1');
    await handshake(tls, tls.caCertPem, '192.168.1.5');
  });

  it('is refused for a name it does not carry, and by a client trusting another CA', async () => {
    await expect(handshake(tls, tls.caCertPem, 'example.org')).rejects.toThrow(/altnames/i);
    const other = await loadOrCreateServerTls(tmpDir(), 'tlsim.localhost');
    await expect(handshake(tls, other.caCertPem, 'localhost')).rejects.toThrow(/certificate/i);
  });

  it('reuses everything on a later start with the same names', async () => {
    const again = await loadOrCreateServerTls(dir, 'tlsim.localhost', { extraNames: ['192.168.1.5', 'GW.example'] });
    expect(again).toEqual(tls);
  });

  it('reads the names back from the certificate without node-forge: IPv6 in any spelling, IPv4 inside IPv6, any case', async () => {
    const d = tmpDir();
    const names = ['fe80::1', '::ffff:a00:7', '2001:DB8:0:0:1::2', 'Mixed.Example'];
    const first = await loadOrCreateServerTls(d, 'tlsim.localhost', { extraNames: names });
    const spelledOtherwise = ['FE80:0:0:0:0:0:0:1', '::ffff:10.0.0.7', '2001:db8::1:0:0:2', 'mixed.example'];
    expect(await loadOrCreateServerTls(d, 'tlsim.localhost', { extraNames: spelledOtherwise })).toEqual(first);
    // One name fewer: re-issued.
    expect((await loadOrCreateServerTls(d, 'tlsim.localhost', { extraNames: names.slice(1) })).certPem).not.toBe(first.certPem);
  });

  it('ipHex: the bytes of an address, whatever its spelling', () => {
    expect(ipHex('127.0.0.1')).toBe('7f000001');
    expect(ipHex('::1')).toBe('0'.repeat(31) + '1');
    expect(ipHex('0:0:0:0:0:0:0:1')).toBe(ipHex('::1'));
    expect(ipHex('::ffff:1.2.3.4')).toBe('00000000000000000000ffff01020304');
    expect(ipHex('fe80::')).toBe('fe80' + '0'.repeat(28));
    expect(ipHex('not-an-ip')).toBe('');
  });

  it('re-issues the server certificate with the same CA when the names change', async () => {
    const renamed = await loadOrCreateServerTls(dir, 'other.localhost');
    expect(renamed.caCertPem).toBe(tls.caCertPem);
    expect(renamed.certPem).not.toBe(tls.certPem);
    expect(new X509Certificate(renamed.certPem).subjectAltName).toBe(
      'DNS:other.localhost, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    await handshake(renamed, tls.caCertPem, 'other.localhost');
    tls = renamed;
  });

  it('re-issues a server certificate near expiry, and one whose files are damaged', async () => {
    const d = tmpDir();
    const day = 24 * 3600_000;
    // Issued 800 days ago: 25 days left of 825.
    const old = await loadOrCreateServerTls(d, 'tlsim.localhost', { now: () => Date.now() - 800 * day });
    const fresh = await loadOrCreateServerTls(d, 'tlsim.localhost');
    expect(fresh.caCertPem).toBe(old.caCertPem);
    expect(fresh.certPem).not.toBe(old.certPem);
    expect(Date.parse(new X509Certificate(fresh.certPem).validTo)).toBeGreaterThan(Date.now() + 800 * day);

    await writeFile(fresh.keyFile, 'garbage');
    const repaired = await loadOrCreateServerTls(d, 'tlsim.localhost');
    expect(repaired.caCertPem).toBe(old.caCertPem);
    expect(repaired.keyPem).not.toBe('garbage');
    await handshake(repaired, old.caCertPem, 'localhost');
  });

  it('never replaces a CA the user may trust because its key went missing', async () => {
    const d = tmpDir();
    await loadOrCreateServerTls(d, 'tlsim.localhost');
    await rm(join(d, 'tls', 'ca-key.pem'));
    const err = await loadOrCreateServerTls(d, 'tlsim.localhost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalCaError);
    expect(String(err)).toMatch(/ca-key\.pem.*missing/);
  });

  it('makes a new CA when only its key was written (a crash before the certificate)', async () => {
    const d = tmpDir();
    const first = await loadOrCreateServerTls(d, 'tlsim.localhost');
    await rm(first.caCertFile);
    const second = await loadOrCreateServerTls(d, 'tlsim.localhost');
    expect(second.caCertPem).not.toBe(first.caCertPem);
    await handshake(second, second.caCertPem, 'localhost');
  });
});
