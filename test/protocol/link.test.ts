// Link compliance suite, our code at both ends (or a bare Node TLS peer), run over real TCP and the in-memory pair.
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createSecureContext, TLSSocket, type SecureVersion } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FingerprintMismatchError, HandshakeError, TimeoutError } from '../../bridge-protocol/errors.js';
import { generateIdentity, type Identity } from '../../bridge-protocol/identity.js';
import { acceptLink, dialLink, type Link, type LinkCloseInfo } from '../../bridge-protocol/link.js';
import { createTlsContext, type TlsContext } from '../../bridge-protocol/tls-context.js';
import type { DecodedMessage } from '../../bridge-protocol/wire/line-codec.js';
import { tcpWire, memoryWire } from '../support/wires.js';

const WAIT_MS = 10_000;

/** Messages a link delivers, with a wait that wakes on arrival (no polling, no sleeps). */
function inbox(link: Link): { messages: DecodedMessage[]; texts: () => string[]; waitForCount(n: number): Promise<void> } {
  const messages: DecodedMessage[] = [];
  const waiters = new Set<() => void>();
  link.on('message', (m) => {
    messages.push(m);
    for (const w of [...waiters]) w();
  });
  link.start();
  return {
    messages,
    texts: () => messages.map((m) => m.text),
    waitForCount: (n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${n} messages within ${WAIT_MS} ms, got ${JSON.stringify(messages)}`));
        }, WAIT_MS);
        const check = (): void => {
          if (messages.length >= n) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Everything a bare TLS socket receives, as text. */
function received(socket: TLSSocket): { text: () => string; waitFor(s: string): Promise<void>; closed: Promise<void> } {
  let text = '';
  const waiters = new Set<() => void>();
  socket.setEncoding('utf8');
  socket.on('data', (s: string) => {
    text += s;
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    text: () => text,
    closed,
    waitFor: (s) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`did not receive ${JSON.stringify(s)}; got ${JSON.stringify(text)}`)), WAIT_MS);
        const check = (): void => {
          if (text.includes(s)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Fails with a useful message instead of the test timing out with none. */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const closedEvent = (d: Duplex): Promise<void> =>
  d.destroyed ? Promise.resolve() : new Promise((resolve) => d.once('close', () => resolve()));

let alice: Identity;
let bob: Identity;
let aliceTls: TlsContext;
let bobTls: TlsContext;

beforeAll(async () => {
  [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
  aliceTls = createTlsContext(alice);
  bobTls = createTlsContext(bob);
});

for (const wire of [tcpWire(), memoryWire()]) {
  describe(`link over ${wire.name}`, () => {
    const open: { links: Link[]; streams: Duplex[] } = { links: [], streams: [] };

    beforeAll(async () => wire.setup?.());
    afterAll(async () => wire.teardown?.());
    afterEach(() => {
      for (const l of open.links) l.destroy();
      for (const s of open.streams) s.destroy();
      open.links = [];
      open.streams = [];
    });

    async function connect(): Promise<{ dialer: Duplex; acceptor: Duplex }> {
      const c = await wire.connect();
      open.streams.push(c.dialer, c.acceptor);
      return c;
    }

    /** Alice dials Bob, who accepts. */
    async function linkPair(expected = bob.fingerprint): Promise<{ out: Link; inn: Link }> {
      const { dialer, acceptor } = await connect();
      const [inn, out] = await Promise.all([
        acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS }),
        dialLink(dialer, aliceTls, { expectedFingerprint: expected, address: 'bob.test:18765', handshakeTimeoutMs: WAIT_MS }),
      ]);
      open.links.push(inn, out);
      return { out, inn };
    }

    it('each side learns the fingerprint of the other', async () => {
      const { out, inn } = await linkPair();
      expect(out.fingerprint).toBe(bob.fingerprint);
      expect(inn.fingerprint).toBe(alice.fingerprint);
      expect(out.side).toBe('client');
      expect(inn.side).toBe('server');
      // Both ends are ours: ALPN agreed, so richer features may be used between them.
      expect(out.gatewayPeer).toBe(true);
      expect(inn.gatewayPeer).toBe(true);
    });

    it('a pinned fingerprint may be given in upper case (as users paste it)', async () => {
      const { out } = await linkPair(bob.fingerprint.toUpperCase());
      expect(out.fingerprint).toBe(bob.fingerprint);
    });

    it('lines go both ways, in order', async () => {
      const { out, inn } = await linkPair();
      const atBob = inbox(inn);
      const atAlice = inbox(out);
      await out.send('hello Bob');
      await atBob.waitForCount(1);
      await inn.send('hello Alice, ça va? 👋');
      await atAlice.waitForCount(1);
      expect(atBob.messages).toEqual([{ text: 'hello Bob', truncated: false }]);
      expect(atAlice.messages).toEqual([{ text: 'hello Alice, ça va? 👋', truncated: false }]);
      // Several in a row: the receiver may group what arrives together (like the reference
      // shows one read as one message), but every line arrives, in order.
      const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
      for (const l of lines) await out.send(l);
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (atBob.texts().slice(1).join('\n').split('\n').length >= lines.length) resolve();
        };
        inn.on('message', check);
        check();
      });
      expect(atBob.texts().slice(1).join('\n').split('\n')).toEqual(lines);
    });

    it('a multi-line message stays one message', async () => {
      const { out, inn } = await linkPair();
      const atBob = inbox(inn);
      // Alice reads too: between gateways, a send resolves on Bob's acknowledgement.
      inbox(out);
      await out.send('first line\nsecond line\n\nfourth line');
      await atBob.waitForCount(1);
      expect(atBob.messages).toEqual([{ text: 'first line\nsecond line\n\nfourth line', truncated: false }]);
    });

    it('a peer answering with another fingerprint is refused, naming both, and gets no data', async () => {
      const { dialer, acceptor } = await connect();
      const wrong = 'ab'.repeat(32);
      const accepting = acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS });
      const dialing = dialLink(dialer, aliceTls, { expectedFingerprint: wrong, address: 'bob.test:18765', handshakeTimeoutMs: WAIT_MS });
      const err = await dialing.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FingerprintMismatchError);
      const mismatch = err as FingerprintMismatchError;
      expect(mismatch.expected).toBe(wrong);
      expect(mismatch.actual).toBe(bob.fingerprint);
      expect(mismatch.message).toContain(wrong);
      expect(mismatch.message).toContain(bob.fingerprint);
      expect(mismatch.message).toContain('bob.test:18765');
      // Bob may finish his handshake before Alice hangs up; either way he gets nothing.
      const outcome = await accepting.then(
        async (link) => {
          open.links.push(link);
          const atBob = inbox(link);
          const info = await within(link.closed, 'the refused link closing');
          return { messages: atBob.messages, info };
        },
        (e: unknown) => ({ error: e }),
      );
      if ('error' in outcome) expect(outcome.error).toBeInstanceOf(HandshakeError);
      else {
        expect(outcome.messages).toEqual([]);
        expect(outcome.info.reason).not.toBe('local');
      }
    });

    it('dialing ourselves (our own address by mistake) is refused at both ends', async () => {
      const { dialer, acceptor } = await connect();
      const [accepted, dialed] = await Promise.allSettled([
        acceptLink(acceptor, aliceTls, { handshakeTimeoutMs: WAIT_MS }),
        dialLink(dialer, aliceTls, { handshakeTimeoutMs: WAIT_MS }),
      ]);
      for (const r of [accepted, dialed]) if (r.status === 'fulfilled') open.links.push(r.value);
      expect(dialed.status).toBe('rejected');
      expect((dialed as PromiseRejectedResult).reason).toBeInstanceOf(HandshakeError);
      expect(String((dialed as PromiseRejectedResult).reason)).toMatch(/our own certificate/);
      // The accepting end either refused too or saw the dialer hang up.
      if (accepted.status === 'rejected') expect(accepted.reason).toBeInstanceOf(HandshakeError);
      else expect((await within(accepted.value.closed, 'accepted self-link closing')).reason).not.toBe('local');
    });

    it('a TLS client without a certificate is refused, and nothing is delivered', async () => {
      const { dialer, acceptor } = await connect();
      const accepting = acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS });
      // A bare TLS client, no key or certificate (what a web browser or a scanner would be).
      const anon = tlsConnect({ socket: dialer, rejectUnauthorized: false, servername: '' });
      anon.on('error', () => {});
      const anonGot = received(anon);
      anon.once('secureConnect', () => anon.write('sneaky line\n'));
      await expect(accepting).rejects.toBeInstanceOf(HandshakeError);
      await expect(accepting).rejects.toThrow(/no client certificate/);
      await within(anonGot.closed, 'the anonymous client being disconnected');
      expect(anonGot.text()).toBe('');
    });

    it('a handshake that never starts times out, and the connection is dropped', async () => {
      // Acceptor side: the dialer connects and never says a word.
      const a = await connect();
      const silentDialerClosed = closedEvent(a.dialer);
      await expect(acceptLink(a.acceptor, bobTls, { handshakeTimeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
      await within(silentDialerClosed, 'the silent dialer being disconnected');

      // Dialer side: the listener accepts and never answers the ClientHello.
      const d = await connect();
      const silentAcceptorClosed = closedEvent(d.acceptor);
      d.acceptor.resume(); // reads and ignores the ClientHello
      const err = await dialLink(d.dialer, aliceTls, { handshakeTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toMatch(/TLS handshake timed out after 300 ms/);
      await within(silentAcceptorClosed, 'the silent acceptor being disconnected');
    });

    it('close() delivers everything written before it, and the other side sees "remote"', async () => {
      const { out, inn } = await linkPair();
      const atBob = inbox(inn);
      const bobClosed = new Promise<LinkCloseInfo>((resolve) => inn.once('close', resolve));
      // A large batch written without waiting, then close at once.
      const lines = Array.from({ length: 500 }, (_, i) => `message ${i} ${'x'.repeat(200)}`);
      const sends = lines.map((l) => out.send(l));
      const aliceClosed = out.close();
      await Promise.all(sends);
      const info = await within(bobClosed, "Bob's link closing");
      expect(info.reason).toBe('remote');
      expect((await within(aliceClosed, "Alice's link closing")).reason).toBe('local');
      // Each send is its own message (its own TLS record), though none waited for another.
      expect(atBob.texts()).toEqual(lines);
      expect(atBob.messages.every((m) => !m.truncated)).toBe(true);
      // After close nothing more can be sent, and the caller is told so.
      await expect(out.send('too late')).rejects.toThrow(/closed/);
    });

    it('a message the peer sends while we close still arrives (we read until its close_notify)', async () => {
      const { out, inn } = await linkPair();
      const atAlice = inbox(out);
      inbox(inn);
      const closing = out.close();
      // Bob has not seen Alice's close yet when he writes.
      await inn.send('last words').catch(() => undefined);
      await within(closing, "Alice's link closing");
      expect(atAlice.texts()).toEqual(['last words']);
    });

    it('between gateways a send resolves once the peer has read it, not when written', async () => {
      const { out, inn } = await linkPair();
      expect(out.acks).toBe(true);
      inbox(out);
      let done = false;
      const sent = out.send('wait for me').then(() => (done = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(false); // Bob has not read anything yet
      const atBob = inbox(inn);
      await within(sent, 'the acknowledgement');
      expect(atBob.texts()).toEqual(['wait for me']);
    });

    it('a gateway link that dies with messages unacknowledged hands them, in order, to whoever takes them at close', async () => {
      const { out, inn } = await linkPair();
      inbox(out); // Bob never reads
      const sends = ['x1', 'x2', 'x3'].map((t) => out.send(t));
      await new Promise((r) => setTimeout(r, 50));
      let taken: string[] = [];
      out.on('close', () => {
        const unfinished = out.takeUnfinished();
        taken = unfinished.map((u) => u.text);
        // Delivered elsewhere, say: their senders learn it from there.
        for (const u of unfinished) u.resolve();
      });
      inn.destroy();
      await within(out.closed, "Alice's link closing");
      expect(taken).toEqual(['x1', 'x2', 'x3']);
      await within(Promise.all(sends), 'the sends settling');
    });

    it("a reference sender's text and its separate LF make one message; a lone LF shows nothing", async () => {
      const { dialer, acceptor } = await connect();
      const accepting = acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS });
      const peer = tlsConnect({ socket: dialer, key: alice.keyPem, cert: alice.certPem, rejectUnauthorized: false, servername: '' });
      await within(new Promise((resolve) => peer.once('secureConnect', resolve)), 'peer handshake');
      const link = await accepting;
      open.links.push(link);
      const atBob = inbox(link);
      const write = (s: string): Promise<void> => new Promise((resolve, reject) => peer.write(s, (e) => (e ? reject(e) : resolve())));
      // The libpurple plugin writes the text, then a separate LF (two TLS records).
      await write('typed <b>text</b>');
      await write('\n');
      await atBob.waitForCount(1);
      // A lone LF, then the peer leaves: nothing more is shown.
      await write('\n');
      peer.end();
      expect((await within(link.closed, 'link closing')).reason).toBe('remote');
      expect(atBob.texts()).toEqual(['typed <b>text</b>']);
    });

    for (const version of ['TLSv1.2', 'TLSv1.3'] as SecureVersion[]) {
      it(`a ${version}-only peer can dial us, and lines go both ways`, async () => {
        const { dialer, acceptor } = await connect();
        const accepting = acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS });
        // A reference-like peer: its own identity, no ALPN, one TLS version only.
        const peer = tlsConnect({
          socket: dialer,
          key: alice.keyPem,
          cert: alice.certPem,
          minVersion: version,
          maxVersion: version,
          rejectUnauthorized: false,
          servername: '',
        });
        const peerGot = received(peer);
        await within(new Promise((resolve) => peer.once('secureConnect', resolve)), 'peer handshake');
        const link = await accepting;
        open.links.push(link);
        expect(peer.getProtocol()).toBe(version);
        expect(link.fingerprint).toBe(alice.fingerprint);
        expect(link.gatewayPeer).toBe(false);
        const atBob = inbox(link);
        peer.write('hi from a plain peer\n');
        await atBob.waitForCount(1);
        expect(atBob.texts()).toEqual(['hi from a plain peer']);
        await link.send('hi back');
        // On the wire: the text and one LF, nothing else.
        await peerGot.waitFor('hi back\n');
        expect(peerGot.text()).toBe('hi back\n');
        peer.end();
        expect((await within(link.closed, 'link closing')).reason).toBe('remote');
      });

      it(`we can dial a ${version}-only peer that requires our certificate`, async () => {
        const { dialer, acceptor } = await connect();
        const server = new TLSSocket(acceptor, {
          isServer: true,
          secureContext: createSecureContext({ key: bob.keyPem, cert: bob.certPem, minVersion: version, maxVersion: version }),
          requestCert: true,
          rejectUnauthorized: false,
        });
        server.on('error', () => {});
        const serverGot = received(server);
        const serverReady = new Promise<void>((resolve) => server.once('secure', () => resolve()));
        const link = await dialLink(dialer, aliceTls, { expectedFingerprint: bob.fingerprint, handshakeTimeoutMs: WAIT_MS });
        open.links.push(link);
        await within(serverReady, 'server handshake');
        expect(server.getProtocol()).toBe(version);
        expect(server.getPeerX509Certificate()?.fingerprint256.replaceAll(':', '').toLowerCase()).toBe(alice.fingerprint);
        expect(link.gatewayPeer).toBe(false);
        const atAlice = inbox(link);
        await link.send('hello server');
        await serverGot.waitFor('hello server\n');
        server.write('hello client\n');
        await atAlice.waitForCount(1);
        expect(atAlice.texts()).toEqual(['hello client']);
        await link.close();
        await within(serverGot.closed, 'server seeing the close');
        expect(serverGot.text()).toBe('hello server\n');
      });
    }
  });
}
