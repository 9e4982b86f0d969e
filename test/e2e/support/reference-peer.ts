// Reference-style tlsim peers as real programs: `openssl s_server -Verify 1` (dialed by us; stdin
// lines go to the gateway, what it gets is printed) and `gnutls-cli --insecure` (dials us).
import { freePort, waitForPort } from '../../support/net.js';
import { spawnProc, type Proc } from '../../support/proc.js';
import { tmpDir, type OpensslIdentity } from '../../support/identities.js';

export const WAIT_MS = 20_000;

export interface ListeningPeer {
  proc: Proc;
  port: number;
  id: OpensslIdentity;
  /** Writes text to the peer's stdin as one write (one read, one TLS record on its side). */
  type(text: string): Promise<void>;
}

/**
 * `openssl s_server -key K -cert C -Verify 1 -brief -accept 127.0.0.1:P`: requires a client
 * certificate like the reference daemon. -brief: stdin lines are data (no Q/R commands), what
 * arrives is printed on stdout, and "Protocol version:" on stderr marks each handshake.
 * Serves one client at a time and goes back to accepting. Waits until it listens (a plain TCP
 * probe it shrugs off).
 */
export async function opensslServer(id: OpensslIdentity, port?: number): Promise<ListeningPeer> {
  const p = port ?? (await freePort());
  const proc = await spawnProc(
    'openssl',
    ['s_server', '-key', id.keyFile, '-cert', id.certFile, '-Verify', '1', '-brief', '-accept', `127.0.0.1:${p}`],
    { cwd: tmpDir('s_server') },
  );
  try {
    await waitForPort(p, WAIT_MS);
  } catch (err) {
    await proc.kill();
    throw new Error(`openssl s_server did not listen on ${p}: ${(err as Error).message}${proc.tails()}`);
  }
  return { proc, port: p, id, type: (text) => proc.write(text) };
}

/**
 * `gnutls-serv --x509keyfile K --x509certfile C -r --echo -p P`: requires a client certificate
 * and prints "received cmd: <line>" for every line it gets (echoing it back).
 */
export async function gnutlsServ(id: OpensslIdentity, port?: number): Promise<ListeningPeer> {
  const p = port ?? (await freePort());
  const proc = await spawnProc(
    'gnutls-serv',
    ['--x509keyfile', id.keyFile, '--x509certfile', id.certFile, '-r', '--echo', '-p', String(p)],
    { cwd: tmpDir('gnutls-serv') },
  );
  await proc.waitFor(/listening on IPv4 .* port \d+\.\.\.done/, WAIT_MS);
  return { proc, port: p, id, type: (text) => proc.write(text) };
}

export interface DialingPeer {
  proc: Proc;
  id: OpensslIdentity;
  type(text: string): Promise<void>;
  /** Resolves once gnutls-cli says the handshake completed (rejects if it exits first). */
  handshake: Promise<void>;
  /** What the gateway sent, after the client's own banner (gnutls-cli prints data on stdout). */
  received(): string;
  /** Resolves once the connection is over: gnutls-cli exits when the gateway closes or drops it. */
  closed: Promise<void>;
}

/** `gnutls-cli --insecure --x509keyfile K --x509certfile C --port P 127.0.0.1`: a peer dialing the gateway. */
export async function gnutlsCli(id: OpensslIdentity, port: number): Promise<DialingPeer> {
  const proc = await spawnProc('gnutls-cli', ['--insecure', '--x509keyfile', id.keyFile, '--x509certfile', id.certFile, '--port', String(port), '127.0.0.1'], {
    cwd: tmpDir('gnutls-cli'),
  });
  const handshake = proc.waitFor(/- Handshake was completed/, WAIT_MS, { stream: 'stdout' }).then(() => undefined);
  handshake.catch(() => {}); // the caller decides whether a failed handshake matters
  const received = (): string => {
    const out = proc.output('stdout');
    const at = out.indexOf('- Simple Client Mode:');
    if (at < 0) return '';
    // gnutls-cli's own words on the same stream ("- Peer has closed the GnuTLS connection", "*** ...") are not data.
    return out
      .slice(at + '- Simple Client Mode:'.length)
      .replace(/^\n+/, '')
      .split('\n')
      .filter((l) => !/^(- Peer has closed the GnuTLS connection|\*\*\* )/.test(l))
      .join('\n');
  };
  return { proc, id, type: (text) => proc.write(text), handshake, received, closed: proc.exited.then(() => undefined) };
}

/**
 * `openssl s_client -quiet -key K -cert C -connect 127.0.0.1:P` (with `-crlf`: lines typed end in
 * CR LF, as on a terminal that sends them): a peer dialing the gateway. -quiet: stdout is only what
 * the gateway sent.
 */
export async function opensslClient(id: OpensslIdentity, port: number, opts: { crlf?: boolean } = {}): Promise<Omit<DialingPeer, 'handshake'>> {
  const args = ['s_client', '-quiet', ...(opts.crlf ? ['-crlf'] : []), '-key', id.keyFile, '-cert', id.certFile, '-connect', `127.0.0.1:${port}`];
  const proc = await spawnProc('openssl', args, { cwd: tmpDir('s_client') });
  return { proc, id, type: (text) => proc.write(text), received: () => proc.output('stdout'), closed: proc.exited.then(() => undefined) };
}
