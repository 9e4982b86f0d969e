// Dialer selection: .onion peers always through tor's SOCKS port (the name sent to tor, never resolved here),
// other peers directly unless tor.all; no tor → a clear refusal; tor's reasons in a few words for the user.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { generateOnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { PeerUnreachableError, type Dialer, type DialTarget, type SocksEndpoint } from '../../gateway/bridge/peer-protocol.js';
import { dialFailureText, torAwareDialerFor } from '../../gateway/bridge/tor-dialer.js';
import { closeServer, listenLocal } from '../support/net.js';

/** A SOCKS5 server that records each CONNECT (ATYP and host) and answers `reply`; success then echoes. */
function fakeSocks(reply = 0x00) {
  const requests: Array<{ atyp: number; host: string; port: number; user?: string }> = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stage = 0;
    let user: string | undefined;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 3) {
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        const m = methods.includes(2) ? 2 : 0;
        s.write(Buffer.from([5, m]));
        stage = m === 2 ? 1 : 2;
      }
      if (stage === 1 && buf.length >= 2 && buf.length >= 3 + buf[1]! && buf.length >= 3 + buf[1]! + buf[2 + buf[1]!]!) {
        const ul = buf[1]!;
        user = buf.subarray(2, 2 + ul).toString();
        buf = buf.subarray(3 + ul + buf[2 + ul]!);
        s.write(Buffer.from([1, 0]));
        stage = 2;
      }
      if (stage === 2 && buf.length >= 5) {
        const atyp = buf[3]!;
        const len = atyp === 3 ? 1 + buf[4]! : atyp === 1 ? 4 : 16;
        if (buf.length < 4 + len + 2) return;
        const host = atyp === 3 ? buf.subarray(5, 5 + buf[4]!).toString() : [...buf.subarray(4, 8)].join('.');
        requests.push({ atyp, host, port: buf.readUInt16BE(4 + len), user });
        buf = buf.subarray(4 + len + 2);
        s.write(Buffer.from([5, reply, 0, 1, 0, 0, 0, 0, 0, 0]));
        stage = 3;
        if (reply !== 0) s.end();
      } else if (stage === 3 && buf.length > 0) {
        s.write(buf);
        buf = Buffer.alloc(0);
      }
    });
  });
  return { server, requests };
}

const onion = `${generateOnionKey().serviceId}.onion`;
const servers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await closeServer(s);
});

async function socksAt(reply = 0x00): Promise<{ socks: SocksEndpoint; requests: ReturnType<typeof fakeSocks>['requests'] }> {
  const f = fakeSocks(reply);
  servers.push(f.server);
  return { socks: { host: '127.0.0.1', port: await listenLocal(f.server) }, requests: f.requests };
}

/** A direct dialer that only records what it was asked. */
function recordingDirect(): { dialer: Dialer; targets: Array<{ target: DialTarget; timeoutMs?: number }> } {
  const targets: Array<{ target: DialTarget; timeoutMs?: number }> = [];
  return {
    targets,
    dialer: async (target, o) => {
      targets.push({ target, timeoutMs: o?.timeoutMs });
      throw new PeerUnreachableError('cannot reach it: recorded only', 'connection-refused');
    },
  };
}

describe('tor-aware dialer', () => {
  it('dials an .onion through SOCKS by name (ATYP 3), a fresh SOCKS user per dial; other hosts directly with a 30 s cap', async () => {
    const { socks, requests } = await socksAt();
    const direct = recordingDirect();
    const dialerFor = torAwareDialerFor({ tor: { socks: () => socks, whyNot: () => 'n/a' }, all: false, direct: direct.dialer });
    const s: Duplex = await dialerFor({ host: onion, port: 18765 })({ host: onion, port: 18765 }, { timeoutMs: 125_000 });
    const echoed = new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString())));
    s.write('ping');
    expect(await echoed).toBe('ping');
    s.destroy();
    await dialerFor({ host: onion, port: 18765 })({ host: onion, port: 18765 }).then((x) => x.destroy());
    expect(requests.map((r) => [r.atyp, r.host, r.port])).toEqual([[3, onion, 18765], [3, onion, 18765]]);
    expect(new Set(requests.map((r) => r.user)).size).toBe(2);

    await expect(dialerFor({ host: '192.0.2.7', port: 4000 })({ host: '192.0.2.7', port: 4000 }, { timeoutMs: 125_000 })).rejects.toThrow('recorded only');
    expect(direct.targets).toEqual([{ target: { host: '192.0.2.7', port: 4000 }, timeoutMs: 30_000 }]);
    expect(requests).toHaveLength(2);
  });

  it('tor.all: ordinary hosts through SOCKS too, as names', async () => {
    const { socks, requests } = await socksAt();
    const direct = recordingDirect();
    const dialerFor = torAwareDialerFor({ tor: { socks: () => socks, whyNot: () => 'n/a' }, all: true, direct: direct.dialer });
    (await dialerFor({ host: 'peer.example', port: 5000 })({ host: 'peer.example', port: 5000 })).destroy();
    expect(requests.map((r) => [r.atyp, r.host])).toEqual([[3, 'peer.example']]);
    expect(direct.targets).toEqual([]);
  });

  it('without a ready tor an .onion is refused at once, saying why; never handed to the direct dialer', async () => {
    const direct = recordingDirect();
    const dialerFor = torAwareDialerFor({ tor: { socks: () => undefined, whyNot: () => 'Tor is not ready yet (bootstrapping, 45%: Loading)' }, all: false, direct: direct.dialer });
    const err = await dialerFor({ host: onion, port: 1 })({ host: onion, port: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect((err as Error).message).toBe(
      `cannot reach ${onion}:1: Tor is not ready yet (bootstrapping, 45%: Loading); an .onion address can only be reached through Tor`,
    );
    const all = torAwareDialerFor({ tor: { socks: () => undefined, whyNot: () => 'Tor is not running' }, all: true, direct: direct.dialer });
    await expect(all({ host: '192.0.2.1', port: 2 })({ host: '192.0.2.1', port: 2 })).rejects.toThrow('Tor is not running; tor.all is set, so no peer is dialed directly');
    expect(direct.targets).toEqual([]);
  });

  it('refuses a malformed onion locally, before asking tor', async () => {
    const { socks, requests } = await socksAt();
    const dialerFor = torAwareDialerFor({ tor: { socks: () => socks, whyNot: () => 'n/a' }, all: false });
    const bad = `${'a'.repeat(56)}.onion`;
    await expect(dialerFor({ host: bad, port: 1 })({ host: bad, port: 1 })).rejects.toMatchObject({ reason: 'onion-bad-address' });
    expect(requests).toEqual([]);
  });

  it("tells tor's 0xF0 as \"peer offline: onion service not found\"", async () => {
    const { socks } = await socksAt(0xf0);
    const dialerFor = torAwareDialerFor({ tor: { socks: () => socks, whyNot: () => 'n/a' }, all: false });
    const err = (await dialerFor({ host: onion, port: 1 })({ host: onion, port: 1 }).catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err.socksReply).toBe(0xf0);
    expect(dialFailureText(err)).toBe('peer offline: onion service not found');
    expect(dialFailureText(new PeerUnreachableError('cannot reach x.example:1: connection refused', 'connection-refused'))).toBe('connection refused');
  });
});
