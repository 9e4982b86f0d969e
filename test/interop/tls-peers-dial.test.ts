// We dial real reference-style listeners (gnutls-serv, openssl s_server): pinned fingerprints, lines both ways, mismatch refusal, TLS versions.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { FingerprintMismatchError, HandshakeError, TimeoutError } from '../../bridge-protocol/errors.js';
import { generateIdentity, identityFromPem, type Identity } from '../../bridge-protocol/identity.js';
import { dialLink, type Link } from '../../bridge-protocol/link.js';
import { createTlsContext, type TlsContext } from '../../bridge-protocol/tls-context.js';
import { EXPIRED, makeCerttoolIdentity, makeOpensslIdentity, opensslFingerprint, removeTmpDirs, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { connectTcp, freePort } from '../support/net.js';
import { killAll, spawnProc, type Proc } from '../support/proc.js';
import { inbox } from '../support/link-inbox.js';
import { interopSuite } from '../support/tools.js';

const WAIT_MS = 15_000;
const TEST_MS = 60_000;

/** The fingerprint of the client certificate a server printed, computed by openssl. */
async function printedClientFingerprint(pem: string): Promise<string> {
  const file = join(tmpDir('seen'), 'client.crt');
  await writeFile(file, pem);
  return opensslFingerprint(file);
}

interopSuite('we dial reference listeners (gnutls-serv, openssl s_server)', ['openssl', 'gnutls-serv', 'ncat'], () => {
  let me: Identity;
  let ours: TlsContext;
  let server: OpensslIdentity;
  const links: Link[] = [];

  beforeAll(async () => {
    me = await generateIdentity();
    ours = createTlsContext(me);
    server = await makeOpensslIdentity(tmpDir('server'));
  });
  afterEach(async () => {
    for (const l of links.splice(0)) l.destroy();
    await killAll();
  });
  afterAll(async () => {
    await killAll();
    removeTmpDirs();
  });

  /** `gnutls-serv --x509keyfile K --x509certfile C -r -p P [--echo]`, waited for until it listens. */
  async function gnutlsServ(id: OpensslIdentity, extra: string[] = []): Promise<{ proc: Proc; port: number }> {
    const port = await freePort();
    const proc = await spawnProc(
      'gnutls-serv',
      ['--x509keyfile', id.keyFile, '--x509certfile', id.certFile, '-r', '--echo', ...extra, '-p', String(port)],
      { cwd: tmpDir('gnutls-serv') },
    );
    await proc.waitFor(/listening on IPv4 .* port \d+\.\.\.done/, WAIT_MS);
    return { proc, port };
  }

  /** `openssl s_server -key K -cert C -Verify 1 -accept P`, waited for until it listens. */
  async function opensslServer(id: OpensslIdentity, extra: string[] = []): Promise<{ proc: Proc; port: number }> {
    const port = await freePort();
    const proc = await spawnProc(
      'openssl',
      ['s_server', '-key', id.keyFile, '-cert', id.certFile, '-Verify', '1', ...extra, '-accept', `127.0.0.1:${port}`],
      { cwd: tmpDir('s_server') },
    );
    // Not waitForPort: its probe would be a client to s_server too.
    await proc.waitFor(/^ACCEPT$/m, WAIT_MS, { stream: 'stdout' });
    return { proc, port };
  }

  async function dial(port: number, expectedFingerprint: string, tls = ours): Promise<Link> {
    const raw = await connectTcp(port);
    const link = await dialLink(raw, tls, { expectedFingerprint, address: `127.0.0.1:${port}`, handshakeTimeoutMs: WAIT_MS });
    links.push(link);
    return link;
  }

  /** The gnutls-serv report of the client's certificate: `Fingerprint: sha1:... sha256:<hex>`. */
  const gnutlsSeenFingerprint = /Fingerprint:\s+sha1:[0-9a-f]+\s+sha256:([0-9a-f]{64})/;

  it('gnutls-serv: the pinned fingerprint (openssl\'s) matches, it sees ours, and lines go both ways over TLS 1.3', async () => {
    const { proc, port } = await gnutlsServ(server);
    const link = await dial(port, server.fingerprint);
    expect(link.fingerprint).toBe(server.fingerprint);
    expect(link.side).toBe('client');
    expect(link.gatewayPeer).toBe(false);
    const got = inbox(link);
    await link.send('ping from the gateway');
    // gnutls-serv --echo sends each line back: it arrives as a message from the peer.
    expect(await got.next()).toEqual({ text: 'ping from the gateway', truncated: false });
    await link.send('ça marche, 日本語');
    expect((await got.next()).text).toBe('ça marche, 日本語');
    // What gnutls-serv reports for data it got (the mismatch test checks it never appears).
    await proc.waitFor(/received cmd: ping from the gateway/, WAIT_MS);
    const seen = gnutlsSeenFingerprint.exec(await proc.waitFor(gnutlsSeenFingerprint, WAIT_MS, { stream: 'stdout' }));
    expect(seen?.[1]).toBe(me.fingerprint);
    expect(proc.stdout).toMatch(/- Version: TLS1\.3/);
  }, TEST_MS);

  it('gnutls-serv limited to TLS 1.2 works too', async () => {
    const { proc, port } = await gnutlsServ(server, ['--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.2']);
    const link = await dial(port, server.fingerprint);
    const got = inbox(link);
    await link.send('over TLS 1.2');
    expect((await got.next()).text).toBe('over TLS 1.2');
    await proc.waitFor(/- Version: TLS1\.2/, WAIT_MS, { stream: 'stdout' });
  }, TEST_MS);

  it('gnutls-serv answering with another fingerprint: FingerprintMismatchError naming both, and it gets no data', async () => {
    const { proc, port } = await gnutlsServ(server);
    const expected = (await makeOpensslIdentity(tmpDir('someone'), { name: 'someone' })).fingerprint;
    const raw = await connectTcp(port);
    const rawClosed = new Promise((resolve) => raw.once('close', resolve));
    const err = await dialLink(raw, ours, { expectedFingerprint: expected, address: `127.0.0.1:${port}`, handshakeTimeoutMs: WAIT_MS }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FingerprintMismatchError);
    const mismatch = err as FingerprintMismatchError;
    expect(mismatch.expected).toBe(expected);
    expect(mismatch.actual).toBe(server.fingerprint);
    expect(mismatch.message).toContain(expected);
    expect(mismatch.message).toContain(server.fingerprint);
    expect(mismatch.message).toContain(`127.0.0.1:${port}`);
    await rawClosed;
    // gnutls-serv reports the end of that connection; it never got a line to echo.
    await proc.waitFor(/Peer has closed the GnuTLS connection|Error in handshake|Error while receiving data|The TLS connection was non-properly terminated/i, WAIT_MS);
    expect(proc.output()).not.toMatch(/received cmd/i);
  }, TEST_MS);

  it('openssl s_server: pinned fingerprint matches, it sees ours, CR LF from it arrives without CR, both ways', async () => {
    const { proc, port } = await opensslServer(server);
    const link = await dial(port, server.fingerprint);
    expect(link.fingerprint).toBe(server.fingerprint);
    expect(link.gatewayPeer).toBe(false);
    const got = inbox(link);
    await proc.waitFor(/^CIPHER is /m, WAIT_MS, { stream: 'stdout' });
    const mark = proc.mark();
    await link.send('hello s_server');
    await proc.waitFor(/^hello s_server\n/m, WAIT_MS, { stream: 'stdout', since: mark });
    await proc.write('hello gateway\r\n');
    expect(await got.next()).toEqual({ text: 'hello gateway', truncated: false });
    // s_server prints the client certificate it got: openssl's fingerprint of it is ours.
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(proc.stdout.split('Client certificate')[1] ?? '');
    expect(pem).not.toBeNull();
    expect(await printedClientFingerprint(pem![0])).toBe(me.fingerprint);
    // Closing: s_server sees the end of the connection.
    const closing = link.close();
    await proc.waitFor(/^DONE$|CONNECTION CLOSED/m, WAIT_MS, { stream: 'stdout', since: mark });
    expect((await closing).reason).toBe('local');
  }, TEST_MS);

  it('openssl s_server limited to TLS 1.2 (-tls1_2) works, both ways', async () => {
    const { proc, port } = await opensslServer(server, ['-tls1_2']);
    const link = await dial(port, server.fingerprint);
    const got = inbox(link);
    // TLS 1.3 suite names start with TLS_; a TLS 1.2 one here is ECDHE-...
    const cipher = await proc.waitFor(/^CIPHER is \S+/m, WAIT_MS, { stream: 'stdout' });
    expect(cipher).not.toMatch(/CIPHER is TLS_/);
    const mark = proc.mark();
    await link.send('over TLS 1.2');
    await proc.waitFor(/^over TLS 1\.2\n/m, WAIT_MS, { stream: 'stdout', since: mark });
    await proc.write('reply over TLS 1.2\n');
    expect((await got.next()).text).toBe('reply over TLS 1.2');
  }, TEST_MS);

  it('openssl s_server answering with another fingerprint: FingerprintMismatchError, and it gets no data', async () => {
    const { proc, port } = await opensslServer(server);
    const expected = me.fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const raw = await connectTcp(port);
    const err = await dialLink(raw, ours, { expectedFingerprint: expected, address: `127.0.0.1:${port}`, handshakeTimeoutMs: WAIT_MS }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FingerprintMismatchError);
    expect((err as FingerprintMismatchError).actual).toBe(server.fingerprint);
    expect((err as FingerprintMismatchError).expected).toBe(expected);
    // s_server reports the end of that connection: usually its handshake never completed
    // (we hang up before our Finished), else nothing came between its handshake and the end.
    await proc.waitFor(/^(ERROR|DONE)$/m, WAIT_MS);
    const afterHandshake = /CIPHER is [^\n]*\n([\s\S]*?)(DONE|ERROR|CONNECTION CLOSED)/.exec(proc.stdout);
    if (afterHandshake) {
      expect(afterHandshake[1]!.replace(/^Secure Renegotiation IS (NOT )?supported\n/m, '')).toBe('');
    } else {
      expect(proc.stdout).not.toMatch(/CIPHER is/);
      expect(proc.stderr).toMatch(/^ERROR$/m);
    }
  }, TEST_MS);

  /** `ncat -l -k -v`: a plain TCP listener, as at a wrong address or port. */
  async function plainListener(): Promise<{ proc: Proc; port: number }> {
    const port = await freePort();
    const proc = await spawnProc('ncat', ['-l', '-k', '-v', '127.0.0.1', String(port)], { cwd: tmpDir('ncat') });
    await proc.waitFor(/Listening on 127\.0\.0\.1:\d+/, WAIT_MS);
    return { proc, port };
  }

  it('a plain-text service at the address (not TLS) gives a HandshakeError, not a link', async () => {
    const { proc, port } = await plainListener();
    const raw = await connectTcp(port);
    const dialing = dialLink(raw, ours, { expectedFingerprint: server.fingerprint, handshakeTimeoutMs: WAIT_MS });
    await proc.waitFor(/Connection from 127\.0\.0\.1/, WAIT_MS);
    // It answers our ClientHello with a banner, as an SSH or SMTP server would.
    await proc.write('SSH-2.0-OpenSSH_9.2\r\n');
    await expect(dialing).rejects.toBeInstanceOf(HandshakeError);
    expect(raw.destroyed).toBe(true);
  }, TEST_MS);

  it('a listener that never answers our ClientHello gives a TimeoutError and the connection is dropped', async () => {
    const { proc, port } = await plainListener();
    const raw = await connectTcp(port);
    const rawClosed = new Promise((resolve) => raw.once('close', resolve));
    const err = await dialLink(raw, ours, { expectedFingerprint: server.fingerprint, handshakeTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    await rawClosed;
    // It was reached (the time went into the TLS handshake, not the TCP connect).
    expect(proc.stderr).toMatch(/Connection from 127\.0\.0\.1/);
  }, TEST_MS);

  for (const keyType of ['rsa4096', 'ec'] as const) {
    it(`a reference listener with an ${keyType === 'ec' ? 'EC P-256' : 'RSA 4096'} identity is pinned by its openssl fingerprint`, async () => {
      const id = await makeOpensslIdentity(tmpDir('server'), { keyType, name: keyType });
      const { port } = await gnutlsServ(id);
      const link = await dial(port, id.fingerprint);
      expect(link.fingerprint).toBe(id.fingerprint);
      const got = inbox(link);
      await link.send(`hello ${keyType}`);
      expect((await got.next()).text).toBe(`hello ${keyType}`);
    }, TEST_MS);
  }

  it('an expired listener identity is still that peer, and our expired imported identity is still us', async () => {
    // Reference peers check no dates: a certificate is only a carrier of the key.
    const old = await makeCerttoolIdentity(tmpDir('old'), { name: 'old-server', validity: EXPIRED });
    const mine = await makeCerttoolIdentity(tmpDir('old'), { name: 'old-me', validity: EXPIRED });
    const { proc, port } = await gnutlsServ(old);
    const link = await dial(port, old.fingerprint, createTlsContext(identityFromPem(mine.keyPem, mine.certPem)));
    const got = inbox(link);
    await link.send('still friends');
    expect((await got.next()).text).toBe('still friends');
    const seen = gnutlsSeenFingerprint.exec(await proc.waitFor(gnutlsSeenFingerprint, WAIT_MS, { stream: 'stdout' }));
    expect(seen?.[1]).toBe(mine.fingerprint);
  }, TEST_MS);

  it('our identity imported from an openssl-made pair is seen by gnutls-serv with the same fingerprint', async () => {
    // A tlsd user keeps their identity: their contacts know this fingerprint.
    const mine = await makeOpensslIdentity(tmpDir('mine'), { name: 'mine' });
    const imported = createTlsContext(identityFromPem(mine.keyPem, mine.certPem));
    const { proc, port } = await gnutlsServ(server);
    const link = await dial(port, server.fingerprint, imported);
    const got = inbox(link);
    await link.send('still me');
    expect((await got.next()).text).toBe('still me');
    const seen = gnutlsSeenFingerprint.exec(await proc.waitFor(gnutlsSeenFingerprint, WAIT_MS, { stream: 'stdout' }));
    expect(seen?.[1]).toBe(mine.fingerprint);
  }, TEST_MS);
});
