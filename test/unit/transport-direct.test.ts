// The direct TCP dialer on 127.0.0.1, the socket-error words users see, and the in-memory pair carrying a real TLS handshake.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, PeerUnreachableError, TimeoutError } from '../../bridge-protocol/errors.js';
import { directDialer } from '../../bridge-protocol/transport/direct.js';
import { describeSocketError } from '../../bridge-protocol/transport/errors-map.js';
import { memoryDialer, memoryDuplexPair } from '../../bridge-protocol/transport/memory.js';
import { selfSigned } from '../support/identities.js';
import { closeServer, createEchoServer, freePort, listenLocal, rejection } from '../support/net.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

async function echoServer(): Promise<number> {
  const server = createEchoServer();
  servers.push(server);
  return listenLocal(server);
}

function firstData(s: Duplex): Promise<Buffer> {
  return new Promise((resolve) => s.once('data', resolve));
}

describe('directDialer', () => {
  it('connects and carries bytes both ways', async () => {
    const port = await echoServer();
    const sock = await directDialer()({ host: '127.0.0.1', port });
    sock.write('ping');
    expect((await firstData(sock)).toString()).toBe('ping');
    sock.destroy();
  });

  it('reports a closed port as connection-refused, naming the address', async () => {
    const port = await freePort();
    const err = (await rejection(directDialer()({ host: '127.0.0.1', port }))) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.reason).toBe('connection-refused');
    expect(err.message).toBe(`cannot reach 127.0.0.1:${port}: connection refused`);
  });

  it('never resolves an .onion name locally', async () => {
    let tried = false;
    const dial = directDialer({ connect: () => ((tried = true), new net.Socket()) });
    for (const host of ['abcdefghijklmnop.onion', 'PEER.ONION.']) {
      const err = (await rejection(dial({ host, port: 18765 }))) as PeerUnreachableError;
      expect(err).toBeInstanceOf(PeerUnreachableError);
      expect(err.message).toMatch(/an \.onion address can only be reached through Tor/);
    }
    expect(tried).toBe(false);
  });

  // Loopback connects succeed or fail at once, so a socket that never connects stands in
  // for a host that never answers.
  it('gives up after the timeout and destroys the half-open socket', async () => {
    const stuck = new net.Socket();
    const dial = directDialer({ timeoutMs: 100, connect: () => stuck });
    const err = await rejection(dial({ host: '127.0.0.1', port: 9 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/connecting to 127\.0\.0\.1:9 timed out/);
    expect(stuck.destroyed).toBe(true);
  });

  it('stops when aborted, before or during the connect', async () => {
    const stuck = new net.Socket();
    const dial = directDialer({ connect: () => stuck });
    const controller = new AbortController();
    const pending = dial({ host: '127.0.0.1', port: 9 }, { signal: controller.signal });
    controller.abort();
    expect(await rejection(pending)).toBeInstanceOf(AbortError);
    expect(stuck.destroyed).toBe(true);
    expect(await rejection(dial({ host: '127.0.0.1', port: 9 }, { signal: AbortSignal.abort() }))).toBeInstanceOf(AbortError);
  });
});

describe('socket errors in words', () => {
  it('maps the errno codes a dial meets', () => {
    const reason = (code: string): string => describeSocketError(Object.assign(new Error(code), { code })).reason;
    expect(reason('ECONNREFUSED')).toBe('connection-refused');
    expect(reason('EHOSTUNREACH')).toBe('host-unreachable');
    expect(reason('ENETUNREACH')).toBe('network-unreachable');
    expect(reason('ENOTFOUND')).toBe('host-not-found');
    expect(reason('EAI_AGAIN')).toBe('host-not-found');
    expect(reason('ECONNRESET')).toBe('connection-reset');
    expect(reason('EWHATEVER')).toBe('unknown');
    const both = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]);
    expect(describeSocketError(both).reason).toBe('connection-refused');
  });
});

describe('memoryDuplexPair', () => {
  it('carries bytes both ways and propagates end', async () => {
    const [a, b] = memoryDuplexPair();
    a.write('to b');
    expect((await firstData(b)).toString()).toBe('to b');
    b.write('to a');
    expect((await firstData(a)).toString()).toBe('to a');
    const ended = new Promise((r) => b.once('end', r));
    b.resume();
    a.end();
    await ended;
  });

  it('propagates destroy to the other end', async () => {
    const [a, b] = memoryDuplexPair();
    const closed = new Promise((r) => b.once('close', r));
    a.destroy();
    await closed;
    expect(b.destroyed).toBe(true);
  });

  it('holds the writer back until the reader takes the data (backpressure), losing nothing', async () => {
    const [a, b] = memoryDuplexPair();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let writes = 0;
    while (a.write(chunk)) writes++;
    expect(writes).toBeLessThan(10);
    let received = 0;
    b.on('data', (d: Buffer) => (received += d.length));
    await new Promise((r) => a.once('drain', r));
    a.end();
    await new Promise((r) => b.once('end', r));
    expect(received).toBe((writes + 1) * chunk.length);
  });

  it('runs a real mutual-TLS handshake, as two tlsim peers do', async () => {
    const server = selfSigned('server');
    const client = selfSigned('client');
    let accepted: tls.TLSSocket | undefined;
    let serverSecure: Promise<unknown> | undefined;
    const dial = memoryDialer((duplex) => {
      accepted = new tls.TLSSocket(duplex, { isServer: true, ...server, requestCert: true, rejectUnauthorized: false });
      serverSecure = new Promise((r) => accepted!.once('secure', r));
      accepted.on('data', (d: Buffer) => accepted!.write(`echo ${d}`));
    });
    const raw = await dial({ host: 'peer.invalid', port: 18765 });
    const ours = tls.connect({ socket: raw, ...client, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      ours.once('secureConnect', resolve);
      ours.once('error', reject);
    });
    expect(ours.getPeerCertificate().fingerprint256).toBe(fingerprintOf(server.cert));
    // With TLS 1.3 the server checks the client's certificate after the client is done.
    await serverSecure;
    expect(accepted!.getPeerCertificate().fingerprint256).toBe(fingerprintOf(client.cert));
    ours.write('hello\n');
    expect((await firstData(ours)).toString()).toBe('echo hello\n');
    const closed = new Promise((r) => accepted!.once('close', r));
    ours.end();
    await closed;
  });

  it('memoryDialer honours an aborted signal', async () => {
    const dial = memoryDialer(() => {});
    expect(await rejection(dial({ host: 'x', port: 1 }, { signal: AbortSignal.abort() }))).toBeInstanceOf(AbortError);
  });
});

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
