// The SOCKS5 dialer against a scripted proxy on 127.0.0.1: what it sends, every reply code a user may meet, split and early bytes, auth, timeouts.
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, PeerUnreachableError, TimeoutError } from '../../bridge-protocol/errors.js';
import { memoryDuplexPair } from '../../bridge-protocol/transport/memory.js';
import { SOCKS5_REPLIES, parseConnectReply, socks5Dialer } from '../../bridge-protocol/transport/socks5.js';
import { selfSigned } from '../support/identities.js';
import { rejection } from '../support/net.js';

/** One accepted connection, read as a script reads: "the next n bytes". */
class ScriptedConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private piped: net.Socket | undefined;
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      if (this.piped) this.piped.write(d);
      else this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error('client went away');
      await new Promise<void>((r) => (this.wake = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  write(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.from(bytes));
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => (this.wake = r));
  }
}

interface ProxyRequest {
  bytes: Buffer;
  atyp: number;
  host: string;
  port: number;
}

/** Reads the greeting and answers with `method`; returns the methods offered. */
async function greet(c: ScriptedConn, method = 0x00): Promise<number[]> {
  const [ver, n] = await c.read(2);
  expect(ver).toBe(5);
  const methods = [...(await c.read(n!))];
  c.write([5, method]);
  return methods;
}

async function readRequest(c: ScriptedConn): Promise<ProxyRequest> {
  const head = await c.read(4);
  const atyp = head[3]!;
  const len = atyp === 1 ? 4 : atyp === 4 ? 16 : (await c.read(1))[0]!;
  const addr = await c.read(len);
  const port = (await c.read(2)).readUInt16BE(0);
  const bytes = Buffer.concat([head, atyp === 3 ? Buffer.from([len]) : Buffer.alloc(0), addr, Buffer.from([port >> 8, port & 0xff])]);
  const host = atyp === 3 ? addr.toString() : atyp === 1 ? [...addr].join('.') : addr.toString('hex');
  return { bytes, atyp, host, port };
}

const reply = (rep: number): number[] => [5, rep, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A proxy on a free loopback port running `script` for every connection. */
async function scriptedProxy(script: (c: ScriptedConn) => Promise<void>): Promise<{ port: number; conns: ScriptedConn[] }> {
  const conns: ScriptedConn[] = [];
  const server = net.createServer((socket) => {
    const c = new ScriptedConn(socket);
    conns.push(c);
    script(c).catch(() => socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, conns };
}

const onion = 'vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion';

describe('socks5Dialer: what reaches the proxy', () => {
  it('sends a host name as ATYP 3 for the proxy to resolve, then carries bytes both ways', async () => {
    let req: ProxyRequest | undefined;
    let methods: number[] = [];
    const proxy = await scriptedProxy(async (c) => {
      methods = await greet(c);
      req = await readRequest(c);
      c.write(reply(0));
      c.socket.pipe(c.socket); // echo
    });
    const sock = await socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: onion, port: 18765 });
    sock.write('ping');
    const [echo] = (await onceData(sock)) as [Buffer];
    expect(echo.toString()).toBe('ping');
    sock.destroy();
    expect(methods).toEqual([0x00]);
    expect(req!.atyp).toBe(3);
    expect(req!.bytes).toEqual(Buffer.concat([Buffer.from([5, 1, 0, 3, onion.length]), Buffer.from(onion), Buffer.from([0x49, 0x4d])]));
  });

  it('sends IP literals as ATYP 1 and ATYP 4', async () => {
    const seen: ProxyRequest[] = [];
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      seen.push(await readRequest(c));
      c.write(reply(0));
    });
    const dial = socks5Dialer({ host: '127.0.0.1', port: proxy.port });
    for (const host of ['10.1.2.3', '::1', '[2001:db8::ff:1]', '::ffff:1.2.3.4']) (await dial({ host, port: 1 })).destroy();
    expect(seen.map((r) => [r.atyp, r.host])).toEqual([
      [1, '10.1.2.3'],
      [4, '00000000000000000000000000000001'],
      [4, '20010db8000000000000000000ff0001'],
      [4, '00000000000000000000ffff01020304'],
    ]);
  });

  it('refuses a host name longer than 255 bytes without contacting the proxy', async () => {
    const proxy = await scriptedProxy(async () => {});
    const err = await rejection(socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: 'a'.repeat(256), port: 1 }));
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.message).toMatch(/255 bytes/);
    expect(proxy.conns).toHaveLength(0);
  });
});

describe('socks5Dialer: reply codes', () => {
  it('maps every reply code to a PeerUnreachableError that keeps the byte', async () => {
    // The port we dial tells the proxy which code to answer.
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      const req = await readRequest(c);
      c.write(reply(req.port - 1000));
      c.socket.end();
    });
    const dial = socks5Dialer({ host: '127.0.0.1', port: proxy.port });
    const codes = [...Object.keys(SOCKS5_REPLIES).map(Number), 0x42];
    for (const code of codes) {
      const err = (await rejection(dial({ host: onion, port: 1000 + code }))) as PeerUnreachableError;
      expect(err).toBeInstanceOf(PeerUnreachableError);
      expect(err.socksReply).toBe(code);
      expect(err.reason).toBe(SOCKS5_REPLIES[code]?.reason ?? 'unknown');
      expect(err.message).toContain(onion);
    }
  });

  it('tells the user why an onion peer is unreachable, in words', async () => {
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      const req = await readRequest(c);
      c.write(reply(req.port - 1000));
    });
    const dial = socks5Dialer({ host: '127.0.0.1', port: proxy.port });
    const say = async (code: number): Promise<string> => (await rejection(dial({ host: onion, port: 1000 + code }))).message;
    expect(await say(0xf0)).toMatch(/onion service not found: the peer is offline or its address is not published yet/);
    expect(await say(0xf2)).toMatch(/introduction failed: the peer is offline or unreachable/);
    expect(await say(0xf6)).toMatch(/invalid onion address/);
    expect(await say(0x05)).toMatch(/connection refused/);
    expect(await say(0x06)).toMatch(/timed out reaching the peer over Tor/);
  });
});

function onceData(s: NodeJS.EventEmitter): Promise<unknown[]> {
  return new Promise((resolve) => s.once('data', (...args: unknown[]) => resolve(args)));
}

describe('socks5Dialer: replies in pieces and bytes after the reply', () => {
  it('parses a reply split at every byte, with a variable-length BND.ADDR', async () => {
    const bound = Buffer.from('exit.example');
    const full = Buffer.concat([Buffer.from([5, 0, 0, 3, bound.length]), bound, Buffer.from([0, 80])]);
    for (let cut = 0; cut < full.length; cut++) {
      expect(parseConnectReply(full.subarray(0, cut))).toBeNull();
    }
    expect(parseConnectReply(Buffer.concat([full, Buffer.from('tls')]))).toEqual({ reply: 0, length: full.length });
    expect(parseConnectReply(Buffer.from([5, 0xf0]))).toEqual({ reply: 0xf0, length: 2 });
  });

  it('waits for a reply dribbled byte by byte and keeps the bytes that follow it', async () => {
    const proxy = await scriptedProxy(async (c) => {
      c.socket.setNoDelay(true);
      await c.read(3);
      for (const byte of [5, 0]) {
        c.write([byte]);
        await new Promise((r) => setTimeout(r, 5));
      }
      await readRequest(c);
      const bound = Buffer.from('exit.example');
      const answer = Buffer.concat([Buffer.from([5, 0, 0, 3, bound.length]), bound, Buffer.from([0, 80])]);
      for (const byte of answer) {
        c.write([byte]);
        await new Promise((r) => setTimeout(r, 2));
      }
      c.write(Buffer.from('first bytes from the peer'));
    });
    const sock = await socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: onion, port: 18765 });
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    await new Promise<void>((r) => {
      const check = (): void => (got.length >= 25 ? r() : void setTimeout(check, 5));
      check();
    });
    expect(got).toBe('first bytes from the peer');
    sock.destroy();
  });

  it('loses nothing when the peer data arrives in the same segment as the reply', async () => {
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      await readRequest(c);
      c.write(Buffer.concat([Buffer.from(reply(0)), Buffer.from('hello\n')]));
    });
    const sock = await socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: 'localhost', port: 1 });
    const [data] = (await onceData(sock)) as [Buffer];
    expect(data.toString()).toBe('hello\n');
    sock.destroy();
  });

  it('completes a TLS handshake whose first record came with the SOCKS reply', async () => {
    const { key, cert } = selfSigned();
    let remote: tls.TLSSocket | undefined;
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      await readRequest(c);
      // Play the remote peer as a TLS client so its ClientHello can ride with the reply.
      const [inner, outer] = memoryDuplexPair();
      remote = tls.connect({ socket: inner, key, cert, rejectUnauthorized: false });
      remote.on('error', () => {});
      const [hello] = (await onceData(outer)) as [Buffer];
      c.write(Buffer.concat([Buffer.from(reply(0)), hello]));
      outer.on('data', (d: Buffer) => c.socket.write(d));
      c.socket.removeAllListeners('data');
      c.socket.on('data', (d: Buffer) => outer.write(d));
    });
    const sock = await socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: onion, port: 18765 });
    const ours = new tls.TLSSocket(sock as net.Socket, { isServer: true, key, cert, requestCert: true, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      ours.once('secure', resolve);
      ours.once('error', reject);
    });
    remote!.write('line over TLS\n');
    const [data] = (await onceData(ours)) as [Buffer];
    expect(data.toString()).toBe('line over TLS\n');
    expect(ours.getPeerCertificate().fingerprint256).toBeTruthy();
    ours.destroy();
    remote!.destroy();
  });
});

describe('socks5Dialer: authentication', () => {
  it('offers only user/pass when credentials are given and sends them per RFC 1929', async () => {
    let methods: number[] = [];
    let authBytes: Buffer | undefined;
    const proxy = await scriptedProxy(async (c) => {
      methods = await greet(c, 0x02);
      const [, ulen] = await c.read(2);
      const user = await c.read(ulen!);
      const [plen] = await c.read(1);
      const pass = await c.read(plen!);
      authBytes = Buffer.concat([Buffer.from([1, ulen!]), user, Buffer.from([plen!]), pass]);
      const ok = user.toString() === 'circuit-7' && pass.toString() === 'x';
      c.write([1, ok ? 0 : 1]);
      if (!ok) return void c.socket.end();
      await readRequest(c);
      c.write(reply(0));
    });
    const good = socks5Dialer({ host: '127.0.0.1', port: proxy.port, username: 'circuit-7', password: 'x' });
    (await good({ host: onion, port: 1 })).destroy();
    expect(methods).toEqual([0x02]);
    expect(authBytes).toEqual(Buffer.from([1, 9, ...Buffer.from('circuit-7'), 1, 0x78]));

    const bad = socks5Dialer({ host: '127.0.0.1', port: proxy.port, username: 'circuit-7', password: 'wrong' });
    const err = (await rejection(bad({ host: onion, port: 1 }))) as PeerUnreachableError;
    expect(err.reason).toBe('proxy-refused');
    expect(err.message).toMatch(/refused our user name and password/);
  });

  it('reports a proxy that accepts none of the methods we offer', async () => {
    const proxy = await scriptedProxy(async (c) => void (await greet(c, 0xff)));
    const err = (await rejection(socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: onion, port: 1 }))) as PeerUnreachableError;
    expect(err.reason).toBe('proxy-refused');
    expect(err.message).toMatch(/requires authentication/);
  });

  it('refuses unusable credentials when the dialer is made', () => {
    expect(() => socks5Dialer({ host: '127.0.0.1', port: 9050, username: '' })).toThrow(RangeError);
    expect(() => socks5Dialer({ host: '127.0.0.1', port: 9050, username: 'u', password: 'p'.repeat(256) })).toThrow(RangeError);
  });
});

describe('socks5Dialer: broken, silent and dead proxies', () => {
  it('names the proxy when it cannot be reached', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = (await rejection(socks5Dialer({ host: '127.0.0.1', port })({ host: onion, port: 1 }))) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.reason).toBe('proxy-failed');
    expect(err.message).toBe(`cannot reach the SOCKS proxy 127.0.0.1:${port}: connection refused`);
  });

  it('times out on a proxy that never answers the greeting, and closes the connection', async () => {
    const proxy = await scriptedProxy(async (c) => c.untilClosed());
    const err = await rejection(socks5Dialer({ host: '127.0.0.1', port: proxy.port }, { timeoutMs: 200 })({ host: onion, port: 1 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/greeting the proxy/);
    await proxy.conns[0]!.untilClosed();
  });

  it('times out on a proxy that never answers CONNECT (per-dial timeout)', async () => {
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      await readRequest(c);
    });
    const dial = socks5Dialer({ host: '127.0.0.1', port: proxy.port });
    const err = await rejection(dial({ host: onion, port: 1 }, { timeoutMs: 200 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/waiting for the proxy's answer/);
  });

  it('stops at once when aborted, and closes the connection', async () => {
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      await readRequest(c);
      controller.abort();
    });
    const controller = new AbortController();
    const err = await rejection(socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: onion, port: 1 }, { signal: controller.signal }));
    expect(err).toBeInstanceOf(AbortError);
    await proxy.conns[0]!.untilClosed();
    const pre = await rejection(socks5Dialer({ host: '127.0.0.1', port: proxy.port })({ host: onion, port: 1 }, { signal: AbortSignal.abort() }));
    expect(pre).toBeInstanceOf(AbortError);
  });

  it('explains malformed answers and a proxy that hangs up', async () => {
    const proxy = await scriptedProxy(async (c) => {
      await greet(c);
      const req = await readRequest(c);
      if (req.port === 1) c.write([4, 0, 0, 1, 0, 0, 0, 0, 0, 0]); // a SOCKS4-style version byte
      if (req.port === 2) c.write([5, 0, 0, 9, 0, 0]); // unknown address type
      c.socket.end();
    });
    const dial = socks5Dialer({ host: '127.0.0.1', port: proxy.port });
    const version = (await rejection(dial({ host: onion, port: 1 }))) as PeerUnreachableError;
    expect([version.reason, version.message]).toEqual(['proxy-failed', expect.stringMatching(/malformed answer: version 0x04/)]);
    const atyp = (await rejection(dial({ host: onion, port: 2 }))) as PeerUnreachableError;
    expect(atyp.message).toMatch(/unknown address type 0x09/);
    const gone = (await rejection(dial({ host: onion, port: 3 }))) as PeerUnreachableError;
    expect([gone.reason, gone.message]).toEqual(['proxy-failed', expect.stringMatching(/closed the connection while waiting/)]);
  });
});
