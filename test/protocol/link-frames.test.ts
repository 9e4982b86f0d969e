// Gateway links with typed frames (x-tlsim-gateway/3), over real TCP and the in-memory pair: message ids, markers
// and chat states both ways and acknowledged; a frame split at every byte; bad frames close only their link; and
// with a gateway offering only /2, plain lines still acknowledged, markers and states never written.
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FrameTooLargeError,
  GATEWAY_ALPN,
  GATEWAY_ALPN_V1,
  GATEWAY_ALPN_V2,
  MalformedFrameError,
  MAX_FRAME_BYTES,
  acceptLink,
  createTlsContext,
  dialLink,
  encodeFrame,
  generateIdentity,
  type Identity,
  type Link,
  type LinkChatState,
  type LinkMarker,
  type LinkMessage,
  type PeerManager,
  type PeerManagerEvents,
  type TlsContext,
} from '../../bridge-protocol/index.js';
import { managerPool } from '../support/peer-managers.js';
import { memoryWire, tcpWire } from '../support/wires.js';

const WAIT_MS = 10_000;
const ACK = 0xfe;

let alice: Identity;
let bob: Identity;
let aliceTls: TlsContext;
let bobTls: TlsContext;

beforeAll(async () => {
  [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
  aliceTls = createTlsContext(alice);
  bobTls = createTlsContext(bob);
});

/** Waits (bounded) until `cond` holds, re-checking on every event the caller pokes and every 20 ms. */
async function until(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Everything a link delivers, of every kind, in order. */
function events(link: Link): { messages: LinkMessage[]; markers: Array<[LinkMarker, string]>; states: LinkChatState[]; all: string[] } {
  const got = { messages: [] as LinkMessage[], markers: [] as Array<[LinkMarker, string]>, states: [] as LinkChatState[], all: [] as string[] };
  link.on('message', (m) => (got.messages.push(m), got.all.push(`message ${m.text}`)));
  link.on('marker', (m, id) => (got.markers.push([m, id]), got.all.push(`marker ${m} ${id}`)));
  link.on('chat-state', (s) => (got.states.push(s), got.all.push(`state ${s}`)));
  link.start();
  return got;
}

/** A bare TLS peer (Node's TLS, not our Link) offering `alpn`: every byte it receives, and byte-exact writes. */
function barePeer(socket: Duplex, id: Identity, alpn: string[]) {
  const peer: TLSSocket = tlsConnect({ socket, key: id.keyPem, cert: id.certPem, rejectUnauthorized: false, servername: '', ALPNProtocols: alpn });
  peer.on('error', () => {});
  let received = Buffer.alloc(0);
  peer.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
  return {
    peer,
    ready: new Promise<void>((resolve) => peer.once('secureConnect', () => resolve())),
    received: () => received,
    /** One write, one TLS record; resolves when written. */
    write: (bytes: Uint8Array | string) => new Promise<void>((resolve, reject) => peer.write(bytes, (e) => (e ? reject(e) : resolve()))),
  };
}

for (const wire of [tcpWire(), memoryWire()]) {
  describe(`gateway/3 link over ${wire.name}`, () => {
    const open: Array<{ destroy(): void }> = [];
    beforeAll(async () => wire.setup?.());
    afterAll(async () => wire.teardown?.());
    afterEach(() => {
      for (const o of open.splice(0)) o.destroy();
    });

    async function connect(): Promise<{ dialer: Duplex; acceptor: Duplex }> {
      const c = await wire.connect();
      open.push(c.dialer, c.acceptor);
      return c;
    }

    /** Alice dials Bob; each offers the gateway versions given (default all). */
    async function linkPair(alpns: { alice?: string[]; bob?: string[] } = {}): Promise<{ out: Link; inn: Link }> {
      const { dialer, acceptor } = await connect();
      const [inn, out] = await Promise.all([
        acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS, gatewayAlpns: alpns.bob }),
        dialLink(dialer, aliceTls, { expectedFingerprint: bob.fingerprint, handshakeTimeoutMs: WAIT_MS, gatewayAlpns: alpns.alice }),
      ]);
      open.push(inn, out);
      return { out, inn };
    }

    /** A bare peer dials our acceptor; resolves with our link and the peer. */
    async function bareDialsUs(alpn: string[]) {
      const { dialer, acceptor } = await connect();
      const accepting = acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS });
      const bare = barePeer(dialer, alice, alpn);
      await bare.ready;
      const link = await accepting;
      open.push(link, bare.peer);
      return { link, bare };
    }

    it('messages with ids and requests, markers and chat states go both ways, in order; each send resolves once acknowledged', async () => {
      const { out, inn } = await linkPair();
      expect([out.protocol, inn.protocol]).toEqual(['gateway/3', 'gateway/3']);
      const atBob = events(inn);
      const atAlice = events(out);
      expect(await out.sendRecord({ type: 'state', state: 'composing' })).toBe(true);
      expect(await out.sendRecord({ type: 'message', id: 'a-1', text: 'hello Bob\r\nline two 👋', receipt: true, markable: true })).toBe(true);
      expect(await out.sendRecord({ type: 'state', state: 'active' })).toBe(true);
      await until(() => atBob.all.length === 3, 'bob gets all three');
      expect(atBob.all).toEqual(['state composing', 'message hello Bob\nline two 👋', 'state active']);
      expect(atBob.messages[0]).toEqual({ text: 'hello Bob\nline two 👋', truncated: false, id: 'a-1', receipt: true, markable: true });

      expect(await inn.sendRecord({ type: 'marker', marker: 'receipt', id: 'a-1' })).toBe(true);
      expect(await inn.sendRecord({ type: 'marker', marker: 'displayed', id: 'a-1' })).toBe(true);
      // send() of plain text still works: a message frame without an id.
      await inn.send('reply without id');
      await until(() => atAlice.all.length === 3, 'alice gets the markers and the reply');
      expect(atAlice.markers).toEqual([['receipt', 'a-1'], ['displayed', 'a-1']]);
      expect(atAlice.messages).toEqual([{ text: 'reply without id', truncated: false }]);
    });

    it('a link that dies with frames unacknowledged hands over its messages and markers, in order, but not its chat states', async () => {
      const { out, inn } = await linkPair();
      events(out); // Bob never reads, so never acknowledges
      const settled: Array<boolean | string> = [];
      const sends = [
        out.sendRecord({ type: 'message', id: 'u-1', text: 'one' }),
        out.sendRecord({ type: 'state', state: 'composing' }),
        out.sendRecord({ type: 'marker', marker: 'displayed', id: 'theirs' }),
      ].map((p, i) => p.then((d) => (settled[i] = d)));
      await new Promise((r) => setTimeout(r, 50));
      let taken: string[] = [];
      out.on('close', () => {
        const unfinished = out.takeUnfinished();
        taken = unfinished.map((u) => JSON.stringify(u.record));
        for (const u of unfinished) u.resolve();
      });
      inn.destroy();
      await out.closed;
      await Promise.all(sends);
      expect(taken).toEqual([
        JSON.stringify({ type: 'message', id: 'u-1', text: 'one' }),
        JSON.stringify({ type: 'marker', marker: 'displayed', id: 'theirs' }),
      ]);
      // The state was dropped (false); the others were delivered wherever they were taken (true).
      expect(settled).toEqual([true, false, true]);
    });

    it('a message longer than the receiving limit arrives cut and marked, and the link goes on', async () => {
      const { dialer, acceptor } = await connect();
      const [inn, out] = await Promise.all([
        acceptLink(acceptor, bobTls, { handshakeTimeoutMs: WAIT_MS, maxMessageBytes: 10 }),
        dialLink(dialer, aliceTls, { handshakeTimeoutMs: WAIT_MS }),
      ]);
      open.push(inn, out);
      const atBob = events(inn);
      events(out); // reads Bob's acknowledgements
      await out.sendRecord({ type: 'message', id: 'long', text: 'é'.repeat(20) });
      await out.send('ok');
      await until(() => atBob.messages.length === 2, 'bob gets both');
      expect(atBob.messages).toEqual([
        { text: 'é'.repeat(5), truncated: true, id: 'long' },
        { text: 'ok', truncated: false },
      ]);
    });

    it('frames split across TLS records at every byte arrive whole, and each is acknowledged', async () => {
      const { link, bare } = await bareDialsUs([GATEWAY_ALPN]);
      expect(link.protocol).toBe('gateway/3');
      const got = events(link);
      const bytes = Buffer.concat([
        encodeFrame({ type: 'message', id: 'm-1', text: 'héllo 👋 "quoted"\n2nd line', receipt: true }),
        encodeFrame({ type: 'marker', marker: 'acknowledged', id: 'theirs-7' }),
        encodeFrame({ type: 'state', state: 'paused' }),
      ]);
      for (const byte of bytes) await bare.write(Buffer.from([byte]));
      await until(() => got.all.length === 3, 'three records');
      expect(got.messages).toEqual([{ text: 'héllo 👋 "quoted"\n2nd line', truncated: false, id: 'm-1', receipt: true }]);
      expect(got.markers).toEqual([['acknowledged', 'theirs-7']]);
      expect(got.states).toEqual(['paused']);
      // One acknowledgement per frame, and nothing else from us.
      await until(() => bare.received().length === 3, 'three acknowledgements');
      expect([...bare.received()]).toEqual([ACK, ACK, ACK]);
    });

    it('an oversized frame closes that link with FrameTooLargeError; another link is not affected', async () => {
      const { out, inn } = await linkPair();
      const other = events(inn);
      events(out);
      const { link, bare } = await bareDialsUs([GATEWAY_ALPN]);
      events(link);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      await bare.write(Buffer.from([0xf5]));
      // Never an LF: without the limit this would be held forever.
      for (let sent = 0; sent <= MAX_FRAME_BYTES + chunk.length && link.isOpen; sent += chunk.length) {
        await bare.write(chunk).catch(() => undefined);
      }
      const info = await link.closed;
      expect(info.reason).toBe('error');
      expect(info.error).toBeInstanceOf(FrameTooLargeError);
      await out.send('still here');
      await until(() => other.messages.length === 1, 'the other link still carries messages');
    });

    it('a line that is not a frame, or a frame that is not JSON, closes the link with MalformedFrameError', async () => {
      for (const bad of ['plain text on a /3 link\n', Buffer.concat([Buffer.from([0xf5]), Buffer.from('{"text":\n')])]) {
        const { link, bare } = await bareDialsUs([GATEWAY_ALPN]);
        const got = events(link);
        await bare.write(bad);
        const info = await link.closed;
        expect(info.error).toBeInstanceOf(MalformedFrameError);
        expect(got.all).toEqual([]);
      }
    });

    it('with a peer offering only /2: a message goes as its plain line and waits for the acknowledgement; markers and states are never written', async () => {
      const { link, bare } = await bareDialsUs([GATEWAY_ALPN_V2]);
      expect(link.protocol).toBe('gateway/2');
      events(link);
      let acked = false;
      const sent = link.sendRecord({ type: 'message', id: 'x-1', text: 'hello old gateway', receipt: true }).then((d) => (acked = d));
      expect(await link.sendRecord({ type: 'marker', marker: 'displayed', id: 'x-0' })).toBe(false);
      expect(await link.sendRecord({ type: 'state', state: 'composing' })).toBe(false);
      await until(() => bare.received().length >= 'hello old gateway\n'.length, 'the line');
      expect(acked).toBe(false);
      await bare.write(Buffer.from([ACK]));
      await sent;
      expect(acked).toBe(true);
      const second = link.send('second');
      await until(() => bare.received().toString().endsWith('second\n'), 'the second line');
      await bare.write(Buffer.from([ACK]));
      await second;
      // Exactly the lines: no frame byte, no JSON, nothing for the marker or the state.
      expect(bare.received().toString('latin1')).toBe('hello old gateway\nsecond\n');
    });

    it('a gateway of ours limited to /2 and /1 (an older one) agrees on /2 with a new one', async () => {
      const { out, inn } = await linkPair({ bob: [GATEWAY_ALPN_V2, GATEWAY_ALPN_V1] });
      expect([out.protocol, inn.protocol]).toEqual(['gateway/2', 'gateway/2']);
      const atBob = events(inn);
      events(out);
      expect(await out.sendRecord({ type: 'state', state: 'composing' })).toBe(false);
      expect(await out.sendRecord({ type: 'message', id: 'y-1', text: 'hi', markable: true })).toBe(true);
      await until(() => atBob.messages.length === 1, 'bob gets it');
      expect(atBob.all).toEqual(['message hi']);
      expect(atBob.messages[0]).toEqual({ text: 'hi', truncated: false });
    });
  });
}

describe('PeerManager over gateway/3 and with an older gateway', () => {
  const { manager, stopAll } = managerPool();
  afterEach(stopAll);

  function record(m: PeerManager) {
    const got = { messages: [] as LinkMessage[], markers: [] as string[], states: [] as string[] };
    m.on('message', (_fp, msg) => got.messages.push(msg));
    m.on('marker', (_fp, marker, id) => got.markers.push(`${marker} ${id}`));
    m.on('chat-state', (_fp, s) => got.states.push(s));
    return got;
  }

  async function pair(bobAlpns?: string[]): Promise<{ a: PeerManager; b: PeerManager; up: Parameters<PeerManagerEvents['link-up']>[0] }> {
    const a = manager(alice);
    const b = manager(bob, bobAlpns ? { gatewayAlpns: bobAlpns } : {});
    await Promise.all([a.start(), b.start()]);
    const up = new Promise<Parameters<PeerManagerEvents['link-up']>[0]>((resolve) => a.once('link-up', resolve));
    a.setPeer(bob.fingerprint, b.addresses()[0]);
    const info = await up;
    await until(() => b.isOnline(alice.fingerprint), 'bob sees alice');
    return { a, b, up: info };
  }

  it('both new: sendMessage carries the id, sendMarker is acknowledged, sendChatState is written', async () => {
    const { a, b, up } = await pair();
    expect(up.protocol).toBe('gateway/3');
    const atBob = record(b);
    const atAlice = record(a);
    expect(a.sendChatState(bob.fingerprint, 'composing')).toBe(true);
    await a.sendMessage(bob.fingerprint, { id: 'id-1', text: 'hello', receipt: true });
    await until(() => atBob.messages.length === 1 && atBob.states.length === 1, 'bob gets the state and the message');
    expect(atBob.messages[0]).toEqual({ text: 'hello', truncated: false, id: 'id-1', receipt: true });
    expect(atBob.states).toEqual(['composing']);
    expect(await b.sendMarker(alice.fingerprint, 'receipt', 'id-1')).toBe(true);
    await until(() => atAlice.markers.length === 1, 'alice gets the receipt');
    expect(atAlice.markers).toEqual(['receipt id-1']);
  });

  it('with a gateway offering only /2: the text goes and is acknowledged; markers and states are dropped', async () => {
    const { a, b, up } = await pair([GATEWAY_ALPN_V2, GATEWAY_ALPN_V1]);
    expect(up.protocol).toBe('gateway/2');
    const atBob = record(b);
    expect(a.sendChatState(bob.fingerprint, 'composing')).toBe(false);
    expect(await a.sendMarker(bob.fingerprint, 'displayed', 'whatever')).toBe(false);
    await a.sendMessage(bob.fingerprint, { id: 'id-2', text: 'hello old one', markable: true });
    await until(() => atBob.messages.length === 1, 'bob gets the text');
    expect(atBob).toEqual({ messages: [{ text: 'hello old one', truncated: false }], markers: [], states: [] });
  });

  it('sendMarker and sendChatState to a peer without a link: the marker is refused (the caller keeps it), the state dropped', async () => {
    const a = manager(alice);
    await a.start();
    expect(a.sendChatState(bob.fingerprint, 'composing')).toBe(false);
    await expect(a.sendMarker(bob.fingerprint, 'receipt', 'id-3')).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
  });
});
