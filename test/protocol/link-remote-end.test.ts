// The peer ends a link (its FIN): the link is down at once (every message it sent delivered first, nothing after),
// while the socket's own end waits its turn in the pacer (bench/README.md, storms: ~1 000 links dropping together
// stalled the loop when all their sockets ended in one turn). Run over real TCP and the in-memory pair.
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LinkClosedError } from '../../bridge-protocol/errors.js';
import { acceptLink, dialLink, type Link, type LinkCloseInfo } from '../../bridge-protocol/link.js';
import { TurnPacer } from '../../bridge-protocol/turn-pacer.js';
import { aliceAndBob } from '../support/alice-and-bob.js';
import { memoryWire, tcpWire } from '../support/wires.js';

const WAIT_MS = 10_000;

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A pacer whose turns the test gives: nothing it holds runs until release(). */
function heldPacer(): { pacer: TurnPacer; release: () => void } {
  const turns: Array<() => void> = [];
  const pacer = new TurnPacer({ schedule: (slice) => turns.push(slice) });
  return { pacer, release: () => {
    while (turns.length > 0) turns.shift()!();
  } };
}

/** What a link reported, in order: its messages' texts, then 'close:<reason>'. */
function events(link: Link): string[] {
  const seen: string[] = [];
  link.on('message', (m) => seen.push(m.text));
  link.on('close', (info) => seen.push(`close:${info.reason}`));
  return seen;
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const who = aliceAndBob();

const tcp = tcpWire();
for (const wire of [tcp, memoryWire()]) {
  describe(`the peer ends the link, over ${wire.name}`, () => {
    const open: { links: Link[]; streams: Duplex[] } = { links: [], streams: [] };
    beforeAll(async () => wire.setup?.());
    afterAll(async () => wire.teardown?.());
    afterEach(() => {
      for (const l of open.links.splice(0)) l.destroy();
      for (const s of open.streams.splice(0)) s.destroy();
    });

    it('a reference peer writes lines and ends: all arrive, then the link is down at once; its socket ends when the pacer runs', async () => {
      const { dialer, acceptor } = await wire.connect();
      open.streams.push(dialer, acceptor);
      const held = heldPacer();
      const accepting = acceptLink(acceptor, who.bobTls, { handshakeTimeoutMs: WAIT_MS, pacer: held.pacer });
      const peer = tlsConnect({ socket: dialer, key: who.alice.keyPem, cert: who.alice.certPem, rejectUnauthorized: false, servername: '' });
      peer.on('error', () => {});
      await within(new Promise((resolve) => peer.once('secureConnect', resolve)), 'peer handshake');
      const link = await accepting;
      open.links.push(link);
      const seen = events(link);
      const down = new Promise<LinkCloseInfo>((resolve) => link.on('close', resolve));
      let socketClosed = false;
      void link.closed.then(() => (socketClosed = true));
      let peerClosed = false;
      peer.once('close', () => (peerClosed = true));
      link.start();

      // The last line has no LF: a reference peer's last words still count. (Lines that arrive together are one
      // message, as a reference peer shows them.)
      peer.write('a\nb\nlast');
      peer.end();
      expect((await within(down, 'the link going down')).reason).toBe('remote');
      expect(seen).toEqual(['a\nb\nlast', 'close:remote']);
      expect(link.isOpen).toBe(false);
      await expect(link.send('too late')).rejects.toBeInstanceOf(LinkClosedError);

      // Down, but its socket's end waits in the pacer: over TCP neither end is closed, however many turns go by.
      // (The in-memory pair, like a TCP socket without half-close, ends the stream under the TLS socket by itself.)
      await turns(20);
      expect(held.pacer.pending).toBe(1);
      if (wire === tcp) {
        expect(socketClosed).toBe(false);
        expect(peerClosed).toBe(false);
      }

      held.release();
      expect((await within(link.closed, 'the socket closing')).reason).toBe('remote');
      await within(new Promise<void>((resolve) => (peerClosed ? resolve() : peer.once('close', () => resolve()))), 'the peer seeing our end');
      expect(held.pacer.pending).toBe(0);
      // Nothing was delivered or reported after the link went down.
      expect(seen).toEqual(['a\nb\nlast', 'close:remote']);
    });

    it('a gateway peer sends and drops the link without END: every message it sent arrives before the link is down, none after', async () => {
      const { dialer, acceptor } = await wire.connect();
      open.streams.push(dialer, acceptor);
      const held = heldPacer();
      const [inn, out] = await Promise.all([
        acceptLink(acceptor, who.bobTls, { handshakeTimeoutMs: WAIT_MS, pacer: held.pacer }),
        dialLink(dialer, who.aliceTls, { expectedFingerprint: who.bob.fingerprint, handshakeTimeoutMs: WAIT_MS }),
      ]);
      open.links.push(inn, out);
      expect(inn.acks).toBe(true);
      const seen = events(inn);
      const down = new Promise<LinkCloseInfo>((resolve) => inn.on('close', resolve));
      inn.start();
      out.start();
      // Acknowledged: Bob has read them all.
      await within(Promise.all(['m1', 'm2', 'm3'].map((t) => out.send(t))), 'the sends being acknowledged');
      out.destroy();
      expect((await within(down, 'the link going down')).reason).toBe('remote');
      expect(seen).toEqual(['m1', 'm2', 'm3', 'close:remote']);
      // (Over the in-memory pair the other end's destroy closes this one too: nothing is left for the pacer.)
      held.release();
      await within(inn.closed, 'the socket closing');
      await turns(5);
      expect(seen).toEqual(['m1', 'm2', 'm3', 'close:remote']);
      expect(held.pacer.pending).toBe(0);
    });
  });
}
