// Regression: a peer whose TLS offers an ALPN id other than ours (a future gateway version,
// `gnutls-cli --alpn h2`) used to be refused with a fatal alert; it must get a plain link.
// And the gateway versions: 3 (typed frames) when both ends have it, else 2 (acknowledgements), else 1.
import { connect as tlsConnect } from 'node:tls';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptLink, createTlsContext, generateIdentity, GATEWAY_ALPN, GATEWAY_ALPN_V1, GATEWAY_ALPN_V2, type Identity, type Link } from '../../bridge-protocol/index.js';
import { closeServer, listenLocal } from '../support/net.js';

let ours: Identity;
let theirs: Identity;
let server: Server;
let port: number;
let links: Link[] = [];

beforeAll(async () => {
  [ours, theirs] = await Promise.all([generateIdentity(), generateIdentity()]);
  const ctx = createTlsContext(ours);
  server = createServer((raw) => void acceptLink(raw, ctx).then((l) => links.push(l), () => {}));
  port = await listenLocal(server);
});
afterAll(async () => {
  for (const l of links) l.destroy();
  await closeServer(server);
});

function dial(alpn: string[] | undefined): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', key: theirs.keyPem, cert: theirs.certPem, rejectUnauthorized: false, ALPNProtocols: alpn });
    s.on('secureConnect', () => {
      s.write('hello\n');
      s.end();
      resolve(s.alpnProtocol ?? false);
    });
    s.on('error', reject);
  });
}

describe('ALPN on accepted links', () => {
  it('a peer offering only a foreign ALPN id still gets a plain-lines link', async () => {
    links = [];
    expect(await dial(['x-tlsim-gateway/99', 'h2'])).toBe('x-tlsim-gateway/99');
    await expect.poll(() => links.length).toBe(1);
    const link = links[0]!;
    expect(link.gatewayPeer).toBe(false);
    const got = new Promise<string>((r) => link.on('message', (m) => r(m.text)));
    link.start();
    expect(await got).toBe('hello');
  });

  it('a peer offering our id gets a gateway link', async () => {
    links = [];
    expect(await dial([GATEWAY_ALPN, 'h2'])).toBe(GATEWAY_ALPN);
    await expect.poll(() => links.length).toBe(1);
    expect(links[0]!.gatewayPeer).toBe(true);
    expect(links[0]!.protocol).toBe('gateway/3');
    expect(links[0]!.frames).toBe(true);
  });

  it('a gateway of version 2 (acknowledgements, no frames) gets a version 2 link', async () => {
    links = [];
    expect(await dial([GATEWAY_ALPN_V2, GATEWAY_ALPN_V1])).toBe(GATEWAY_ALPN_V2);
    await expect.poll(() => links.length).toBe(1);
    expect(links[0]!.protocol).toBe('gateway/2');
    expect(links[0]!.acks).toBe(true);
    expect(links[0]!.frames).toBe(false);
  });

  it('a gateway from before acknowledgements (version 1 only) gets a gateway link of plain lines', async () => {
    links = [];
    expect(await dial([GATEWAY_ALPN_V1])).toBe(GATEWAY_ALPN_V1);
    await expect.poll(() => links.length).toBe(1);
    expect(links[0]!.gatewayPeer).toBe(true);
    expect(links[0]!.acks).toBe(false);
  });

  it('several versions offered, in any order: the newest is chosen', async () => {
    links = [];
    expect(await dial([GATEWAY_ALPN_V1, GATEWAY_ALPN_V2])).toBe(GATEWAY_ALPN_V2);
    expect(await dial([GATEWAY_ALPN_V1, GATEWAY_ALPN_V2, GATEWAY_ALPN])).toBe(GATEWAY_ALPN);
    await expect.poll(() => links.length).toBe(2);
    expect(links.map((l) => l.protocol)).toEqual(['gateway/2', 'gateway/3']);
  });
});
