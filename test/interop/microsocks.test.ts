// The SOCKS5 dialer against a real SOCKS5 server (microsocks) on 127.0.0.1: names, IPs, refused targets, user/pass auth.
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PeerUnreachableError } from '../../bridge-protocol/errors.js';
import { socks5Dialer } from '../../bridge-protocol/transport/socks5.js';
import { closeServer, createEchoServer, freePort, listenLocal, rejection, waitForPort } from '../support/net.js';
import { spawnProc, type Proc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

/** microsocks on a free loopback port; extra args e.g. ['-u', user, '-P', password]. */
async function startMicrosocks(extra: string[] = []): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = await spawnProc('microsocks', ['-i', '127.0.0.1', '-p', String(port), ...extra], { stdin: 'ignore' });
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await proc.kill();
    throw new Error(`microsocks did not listen: ${(err as Error).message}${proc.tails()}`);
  }
  return { proc, port };
}

async function roundTrip(sock: Duplex, text: string): Promise<string> {
  const got = new Promise<string>((resolve) => sock.once('data', (d: Buffer) => resolve(d.toString())));
  sock.write(text);
  try {
    return await got;
  } finally {
    sock.destroy();
  }
}

interopSuite('microsocks', ['microsocks'], () => {
  const echo = createEchoServer();
  let echoPort = 0;
  let open: { proc: Proc; port: number };
  let authed: { proc: Proc; port: number };

  beforeAll(async () => {
    echoPort = await listenLocal(echo);
    open = await startMicrosocks();
    authed = await startMicrosocks(['-u', 'circuit-1', '-P', 's3cret']);
  });

  afterAll(async () => {
    await Promise.all([open?.proc.kill(), authed?.proc.kill(), closeServer(echo)]);
  });

  it('reaches a peer by the name "localhost", resolved by the proxy', async () => {
    const sock = await socks5Dialer({ host: '127.0.0.1', port: open.port })({ host: 'localhost', port: echoPort });
    expect(await roundTrip(sock, 'by name\n')).toBe('by name\n');
  });

  it('reaches a peer by IP address', async () => {
    const sock = await socks5Dialer({ host: '127.0.0.1', port: open.port })({ host: '127.0.0.1', port: echoPort });
    expect(await roundTrip(sock, 'by ip\n')).toBe('by ip\n');
  });

  it('reports a closed target port with the reply byte microsocks sent', async () => {
    const closed = await freePort();
    const err = (await rejection(
      socks5Dialer({ host: '127.0.0.1', port: open.port })({ host: '127.0.0.1', port: closed }),
    )) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    // microsocks answers ECONNREFUSED with RFC 1928 code 0x05.
    expect(err.socksReply).toBe(0x05);
    expect(err.reason).toBe('connection-refused');
    expect(err.message).toBe(`cannot reach 127.0.0.1:${closed}: connection refused`);
  });

  it('authenticates with user name and password (how Tor isolates circuits)', async () => {
    const dial = socks5Dialer({ host: '127.0.0.1', port: authed.port, username: 'circuit-1', password: 's3cret' });
    expect(await roundTrip(await dial({ host: 'localhost', port: echoPort }), 'authed\n')).toBe('authed\n');
  });

  it('reports refused credentials and a missing login as proxy-refused', async () => {
    const wrong = socks5Dialer({ host: '127.0.0.1', port: authed.port, username: 'circuit-1', password: 'nope' });
    const none = socks5Dialer({ host: '127.0.0.1', port: authed.port });
    for (const dial of [wrong, none]) {
      const err = (await rejection(dial({ host: 'localhost', port: echoPort }))) as PeerUnreachableError;
      expect(err).toBeInstanceOf(PeerUnreachableError);
      expect(err.reason).toBe('proxy-refused');
    }
  });
});
