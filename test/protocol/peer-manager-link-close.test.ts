// Regressions found by the peer manager's link switch: closing a link must not lose what the peer already sent, nor misreport a clean close.
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../bridge-protocol/identity.js';
import { acceptLink, dialLink, type Link, type LinkCloseInfo } from '../../bridge-protocol/link.js';
import { createTlsContext, type TlsContext } from '../../bridge-protocol/tls-context.js';

let server: TlsContext;
let client: TlsContext;

beforeAll(async () => {
  const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
  server = createTlsContext(a);
  client = createTlsContext(b);
});

/** One TCP+TLS pair; `onAccepted` runs on the server link in the tick its handshake completes. */
async function pair(onAccepted: (link: Link) => void): Promise<{ accepted: Promise<Link>; dialed: Link; close: () => void }> {
  let resolveAccepted!: (l: Link) => void;
  const accepted = new Promise<Link>((r) => (resolveAccepted = r));
  const srv = net.createServer(async (raw) => {
    const link = await acceptLink(raw, server);
    onAccepted(link);
    resolveAccepted(link);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const raw = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  const dialed = await dialLink(raw, client);
  return { accepted, dialed, close: () => srv.close() };
}

describe('Link.close()', () => {
  it('close() right after the handshake still delivers the first message that came with it (Node TLS end() discards buffered records)', async () => {
    for (let round = 0; round < 20; round++) {
      const got: string[] = [];
      const { accepted, dialed, close } = await pair((link) => {
        link.on('message', (m) => got.push(...m.text.split('\n')));
        // Retire at once, unstarted: exactly what the peer manager does with a duplicate.
        void link.close('replaced');
      });
      // The dialing side writes the moment its handshake completes.
      for (let i = 0; i < 5; i++) void dialed.send(`m${i}`).catch(() => {});
      dialed.start();
      await (await accepted).closed;
      close();
      expect(got, `round ${round}`).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    }
  });

  it('a send after the peer closed is refused as closed, and the close stays "remote" (not "error")', async () => {
    const { dialed, close } = await pair((link) => void link.close());
    const info = new Promise<LinkCloseInfo>((r) => dialed.on('close', r));
    const refused = new Promise<unknown>((resolve) =>
      (dialed as unknown as { socket: net.Socket }).socket.on('end', () => dialed.send('late').then(resolve, resolve)),
    );
    dialed.start();
    expect(await refused).toMatchObject({ code: 'LINK_CLOSED' });
    expect((await info).reason).toBe('remote');
    close();
  });
});
