// Real reference-style peers (gnutls-cli, openssl s_client, ncat --ssl) dial our listener: identity, lines, refusals, TLS versions.
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { HandshakeError, TimeoutError } from '../../bridge-protocol/errors.js';
import { generateIdentity } from '../../bridge-protocol/identity.js';
import { acceptLink, type Link } from '../../bridge-protocol/link.js';
import { createTlsContext, type TlsContext } from '../../bridge-protocol/tls-context.js';
import { EXPIRED, makeCerttoolIdentity, makeOpensslIdentity, removeTmpDirs, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { closeServer, listenLocal } from '../support/net.js';
import { killAll, spawnProc, type Proc } from '../support/proc.js';
import { inbox } from '../support/link-inbox.js';
import { interopSuite } from '../support/tools.js';

const WAIT_MS = 15_000;
/** Per test: several waits of WAIT_MS may add up. */
const TEST_MS = 60_000;

/** One program that dials us, as a reference user would run it. */
interface Dialer {
  name: string;
  cmd: string;
  /** `id` null: no client certificate at all. */
  args(id: OpensslIdentity | null, port: number): string[];
  /** Output that says it is connected and reads stdin (only gnutls-cli needs the wait). */
  ready?: RegExp;
  /**
   * Whether it exits by itself when we close. ncat does not: it is half-duplex and keeps
   * reading its stdin until that ends, so its user quits it.
   */
  exitsWhenWeClose: boolean;
}

const gnutlsCli = (extra: string[] = []): Dialer => ({
  name: `gnutls-cli ${extra.join(' ')}`.trim(),
  cmd: 'gnutls-cli',
  args: (id, port) => [
    '--insecure',
    ...(id ? ['--x509keyfile', id.keyFile, '--x509certfile', id.certFile] : []),
    ...extra,
    '--port',
    String(port),
    '127.0.0.1',
  ],
  ready: /Simple Client Mode/,
  exitsWhenWeClose: true,
});

const opensslClient: Dialer = {
  name: 'openssl s_client',
  cmd: 'openssl',
  args: (id, port) => ['s_client', '-quiet', ...(id ? ['-key', id.keyFile, '-cert', id.certFile] : []), '-connect', `127.0.0.1:${port}`],
  exitsWhenWeClose: true,
};

const ncat: Dialer = {
  name: 'ncat --ssl',
  cmd: 'ncat',
  args: (id, port) => ['--ssl', ...(id ? ['--ssl-key', id.keyFile, '--ssl-cert', id.certFile] : []), '127.0.0.1', String(port)],
  exitsWhenWeClose: false,
};

/** What our listener made of one incoming connection; `dropped` settles when its TCP socket closes. */
type Outcome = ({ link: Link } | { error: unknown }) & { dropped: Promise<void> };

/** net.createServer + acceptLink, as the gateway listens; outcomes are queued in arrival order. */
class OurListener {
  readonly outcomes: Outcome[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly server: Server;
  port = 0;

  constructor(
    private readonly tls: TlsContext,
    handshakeTimeoutMs = WAIT_MS,
  ) {
    this.server = createServer((socket) => {
      const dropped = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      acceptLink(socket, this.tls, { handshakeTimeoutMs }).then(
        (link) => this.push({ link, dropped }),
        (error: unknown) => this.push({ error, dropped }),
      );
    });
  }

  async listen(): Promise<void> {
    this.port = await listenLocal(this.server);
  }

  close(): Promise<void> {
    for (const o of this.outcomes) if ('link' in o) o.link.destroy();
    return closeServer(this.server);
  }

  /** The next connection's outcome (each is taken once). */
  next(): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no connection reached our listener within ${WAIT_MS} ms`));
      }, WAIT_MS);
      const check = (): void => {
        const o = this.outcomes.shift();
        if (!o) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(o);
      };
      this.waiters.add(check);
      check();
    });
  }

  async nextLink(peer: Proc): Promise<Link> {
    const o = await this.next();
    if ('error' in o) throw new Error(`expected a link, got ${String(o.error)}${peer.tails()}`);
    return o.link;
  }

  private push(o: Outcome): void {
    this.outcomes.push(o);
    for (const w of [...this.waiters]) w();
  }
}

interopSuite('reference peers dial our listener (gnutls-cli, openssl s_client, ncat --ssl)', ['openssl', 'gnutls-cli', 'ncat'], () => {
  let ours: TlsContext;
  let listener: OurListener;
  let peer: OpensslIdentity;

  beforeAll(async () => {
    ours = createTlsContext(await generateIdentity());
    // The peer's identity is made the way reference users make theirs.
    peer = await makeOpensslIdentity(tmpDir('peer'));
  });

  // A fresh listener per test: an outcome left over by one test cannot satisfy the next.
  afterEach(async () => {
    await killAll();
    await listener?.close();
  });
  afterAll(async () => {
    await killAll();
    removeTmpDirs();
  });

  async function start(dialer: Dialer, id: OpensslIdentity | null = peer): Promise<Proc> {
    listener = new OurListener(ours);
    await listener.listen();
    return spawnProc(dialer.cmd, dialer.args(id, listener.port), { cwd: tmpDir('run') });
  }

  for (const dialer of [gnutlsCli(), opensslClient, ncat]) {
    it(`${dialer.name}: its CR LF line arrives without CR, we see its openssl fingerprint, and it prints our reply`, async () => {
      const proc = await start(dialer);
      const link = await listener.nextLink(proc);
      // Who the peer is, as computed by openssl from its certificate file.
      expect(link.fingerprint).toBe(peer.fingerprint);
      expect(link.side).toBe('server');
      // A reference peer offers no ALPN: it must get plain lines, never our extensions.
      expect(link.gatewayPeer).toBe(false);
      const got = inbox(link);
      if (dialer.ready) await proc.waitFor(dialer.ready, WAIT_MS);
      await proc.write(`hello from ${dialer.name}\r\n`);
      expect(await got.next()).toEqual({ text: `hello from ${dialer.name}`, truncated: false });
      await proc.write('second line, é and 日本\r\n');
      expect(await got.next()).toEqual({ text: 'second line, é and 日本', truncated: false });
      const mark = proc.mark();
      await link.send('hello from the gateway');
      await proc.waitFor(/hello from the gateway\n/, WAIT_MS, { stream: 'stdout', since: mark });
      // Closing the link ends the peer's session, as a reference peer going offline does.
      const closing = link.close();
      if (!dialer.exitsWhenWeClose) proc.closeStdin();
      expect((await closing).reason).toBe('local');
      await proc.exited;
    }, TEST_MS);

    it(`${dialer.name} without a client certificate is refused: the connection closes, nothing is delivered`, async () => {
      const proc = await start(dialer, null);
      const outcome = await listener.next();
      expect('error' in outcome).toBe(true);
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(HandshakeError);
      expect((error as Error).message).toMatch(/no client certificate/);
      await outcome.dropped;
      // The program sees its connection end (and typing into it reaches nobody).
      await proc.write('anyone there?\r\n').catch(() => undefined);
      await proc.exited;
      expect(listener.outcomes).toEqual([]);
    }, TEST_MS);
  }

  it('a plain TCP client (ncat without --ssl) typing a line gets a HandshakeError, not a link, and is disconnected', async () => {
    listener = new OurListener(ours);
    await listener.listen();
    const proc = await spawnProc('ncat', ['127.0.0.1', String(listener.port)], { cwd: tmpDir('run') });
    await proc.write('hello in plain text\r\n');
    const outcome = await listener.next();
    expect('error' in outcome && outcome.error).toBeInstanceOf(HandshakeError);
    await outcome.dropped;
    // ncat is half-duplex: it stays until its input ends, then leaves at once.
    proc.closeStdin();
    await proc.exited;
  }, TEST_MS);

  it('a client that connects and never starts TLS is dropped when the handshake times out', async () => {
    // The reference blocks on such a peer; we must only lose that one connection.
    listener = new OurListener(ours, 500);
    await listener.listen();
    const proc = await spawnProc('ncat', ['127.0.0.1', String(listener.port)], { cwd: tmpDir('run') });
    const outcome = await listener.next();
    expect('error' in outcome && outcome.error).toBeInstanceOf(TimeoutError);
    await outcome.dropped;
    proc.closeStdin();
    await proc.exited;
  }, TEST_MS);

  it('gnutls-cli negotiates TLS 1.3 with its default priorities', async () => {
    const proc = await start(gnutlsCli());
    const link = await listener.nextLink(proc);
    await proc.waitFor(/Simple Client Mode/, WAIT_MS);
    expect(proc.stdout).toMatch(/Description: \(TLS1\.3-X\.509\)/);
    const got = inbox(link);
    await proc.write('over TLS 1.3\n');
    expect((await got.next()).text).toBe('over TLS 1.3');
  }, TEST_MS);

  for (const flag of ['-tls1_2', '-tls1_3']) {
    it(`openssl s_client ${flag} works, both ways`, async () => {
      const proc = await start({ ...opensslClient, args: (id, port) => [...opensslClient.args(id, port), flag] });
      const link = await listener.nextLink(proc);
      expect(link.fingerprint).toBe(peer.fingerprint);
      const got = inbox(link);
      await proc.write(`hello over ${flag}\n`);
      expect((await got.next()).text).toBe(`hello over ${flag}`);
      const mark = proc.mark();
      await link.send('and back');
      await proc.waitFor(/and back\n/, WAIT_MS, { stream: 'stdout', since: mark });
    }, TEST_MS);
  }

  it('an endless line from gnutls-cli is cut and flagged, and the link goes on', async () => {
    // The reference has no limit; we deliver the head (64 KiB by default) and drop the rest.
    const proc = await start(gnutlsCli());
    const link = await listener.nextLink(proc);
    const got = inbox(link);
    await proc.waitFor(/Simple Client Mode/, WAIT_MS);
    await proc.write('y'.repeat(300 * 1024) + '\nafter the flood\n');
    const head = await got.next();
    expect(head.truncated).toBe(true);
    expect(head.text).toMatch(/^y+$/);
    expect(Buffer.byteLength(head.text)).toBe(64 * 1024);
    expect((await got.next()).text).toBe('after the flood');
    expect(link.isOpen).toBe(true);
  }, TEST_MS);

  it('gnutls-cli forced to TLS 1.2 works too, both ways', async () => {
    const proc = await start(gnutlsCli(['--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.2']));
    const link = await listener.nextLink(proc);
    await proc.waitFor(/Simple Client Mode/, WAIT_MS);
    expect(proc.stdout).toMatch(/Description: \(TLS1\.2-X\.509\)/);
    expect(link.fingerprint).toBe(peer.fingerprint);
    const got = inbox(link);
    await proc.write('over TLS 1.2\n');
    expect((await got.next()).text).toBe('over TLS 1.2');
    const mark = proc.mark();
    await link.send('back over TLS 1.2');
    await proc.waitFor(/back over TLS 1\.2\n/, WAIT_MS, { stream: 'stdout', since: mark });
  }, TEST_MS);

  it('two lines typed at once into gnutls-cli arrive whole and in order', async () => {
    const proc = await start(gnutlsCli());
    const link = await listener.nextLink(proc);
    const got = inbox(link);
    await proc.waitFor(/Simple Client Mode/, WAIT_MS);
    await proc.write('first of two\nsecond of two\n');
    // gnutls-cli may send them as one record or two, and we may read them as one chunk or
    // two: one message or two, but never a line cut or lost.
    const texts = [(await got.next()).text];
    if (texts[0] === 'first of two') texts.push((await got.next()).text);
    expect(texts.join('\n')).toBe('first of two\nsecond of two');
    expect(got.messages).toHaveLength(texts.length);
  }, TEST_MS);

  it('when gnutls-cli quits (end of its input), our link closes with reason "remote"', async () => {
    const proc = await start(gnutlsCli());
    const link = await listener.nextLink(proc);
    const got = inbox(link);
    await proc.waitFor(/Simple Client Mode/, WAIT_MS);
    await proc.write('last words\n');
    proc.closeStdin();
    const info = await link.closed;
    expect(info.reason).toBe('remote');
    expect(got.messages.map((m) => m.text)).toEqual(['last words']);
    await proc.exited;
  }, TEST_MS);

  const otherIdentities: [string, (dir: string) => Promise<OpensslIdentity>][] = [
    ['an openssl RSA 4096', (dir) => makeOpensslIdentity(dir, { keyType: 'rsa4096' })],
    ['an openssl EC P-256', (dir) => makeOpensslIdentity(dir, { keyType: 'ec' })],
    ['a GnuTLS certtool RSA', (dir) => makeCerttoolIdentity(dir)],
    ['a GnuTLS certtool ECDSA', (dir) => makeCerttoolIdentity(dir, { keyType: 'ecdsa' })],
    ['an expired (2015-2016)', (dir) => makeCerttoolIdentity(dir, { validity: EXPIRED })],
  ];
  for (const [label, make] of otherIdentities) {
    it(`a reference peer with ${label} identity is recognised by its openssl fingerprint`, async () => {
      const id = await make(tmpDir('peer'));
      const proc = await start(gnutlsCli(), id);
      const link = await listener.nextLink(proc);
      expect(link.fingerprint).toBe(id.fingerprint);
      const got = inbox(link);
      await proc.waitFor(/Simple Client Mode/, WAIT_MS);
      await proc.write(`hello with ${label}\n`);
      expect((await got.next()).text).toBe(`hello with ${label}`);
      const mark = proc.mark();
      await link.send('welcome');
      await proc.waitFor(/welcome\n/, WAIT_MS, { stream: 'stdout', since: mark });
    }, TEST_MS);
  }
});
