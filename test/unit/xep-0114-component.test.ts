// The XEP-0114 component link against a fake component port on loopback: the handshake digest,
// stanza namespaces, from/to enforcement, each stream error told in plain words, reconnects,
// stop(), the write-buffer cap.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stanzaKind } from '../../gateway/xmpp/stanza.js';
import { x, type Element } from '../../gateway/xmpp/xml/element.js';
import { XmlStreamParser, type StreamOpen } from '../../gateway/xmpp/xml/parser.js';
import { COMPONENT_NS, ComponentLink, type ComponentLinkOptions } from '../../gateway/xmpp/xep-0114-component.js';
import { closeServer, freePort, listenLocal } from '../support/net.js';
import { waitUntil } from '../support/proc.js';

const DOMAIN = 'peers.example.org';
const SECRET = 's3cret-for-the-test';
const STREAM_ID = 'ab12-stream-id';
const STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

/** One connection to the fake component port, as the server sees it. */
class FakeConn {
  raw = '';
  header: StreamOpen | undefined;
  readonly elements: Element[] = [];
  clientClosed = false;
  /** Answer the client's </stream:stream> with ours, as a polite server does. */
  answerClose = true;
  gone = false;
  private readonly parser: XmlStreamParser;

  constructor(
    readonly socket: Socket,
    onHeader: (c: FakeConn) => void,
    onElement: (c: FakeConn, el: Element) => void,
  ) {
    this.parser = new XmlStreamParser({
      open: (o) => {
        this.header = o;
        onHeader(this);
      },
      element: (el) => {
        this.elements.push(el);
        onElement(this, el);
      },
      close: () => {
        this.clientClosed = true;
        if (this.answerClose) this.write('</stream:stream>');
      },
    });
    socket.on('data', (d: Buffer) => {
      this.raw += d.toString();
      this.parser.write(d);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.gone = true;
    });
  }

  write(s: string): void {
    if (!this.socket.destroyed) this.socket.write(s);
  }

  openStream(id = STREAM_ID): void {
    this.write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='${DOMAIN}' id='${id}'>`,
    );
  }

  streamError(condition: string, text?: string): void {
    const t = text ? `<text xmlns='${STREAMS}'>${text}</text>` : '';
    this.write(`<stream:error><${condition} xmlns='${STREAMS}'/>${t}</stream:error></stream:stream>`);
  }
}

/** The handshake a correct client sends for this id and secret, computed here on its own. */
const expectedDigest = (id: string, secret: string) => createHash('sha1').update(`${id}${secret}`).digest('hex');

/** Answers the header, checks the digest, then calls `afterHandshake` (default: accept). */
function acceptWith(afterHandshake?: (c: FakeConn, digestOk: boolean) => void) {
  return {
    onHeader: (c: FakeConn) => c.openStream(),
    onElement: (c: FakeConn, el: Element) => {
      if (el.name !== 'handshake') return;
      const ok = el.text() === expectedDigest(STREAM_ID, SECRET);
      if (afterHandshake) afterHandshake(c, ok);
      else if (ok) c.write('<handshake/>');
      else c.streamError('not-authorized', 'Given token does not match calculated token');
    },
  };
}

const servers: Server[] = [];
const links: ComponentLink[] = [];

async function fakeServer(behaviour: ReturnType<typeof acceptWith> = acceptWith()): Promise<{ port: number; conns: FakeConn[] }> {
  const conns: FakeConn[] = [];
  const server = createServer((s) => conns.push(new FakeConn(s, behaviour.onHeader, behaviour.onElement)));
  servers.push(server);
  return { port: await listenLocal(server), conns };
}

function capture() {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  const lines = (): Array<Record<string, any>> =>
    out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { log: pino({ level: 'debug' }, sink), lines, raw: () => out.join('') };
}

function startLink(port: number, opts: Partial<ComponentLinkOptions> = {}) {
  const cap = capture();
  const link = new ComponentLink({
    host: '127.0.0.1',
    port,
    domain: DOMAIN,
    secret: SECRET,
    log: cap.log,
    backoff: { firstMs: 20, maxMs: 100 },
    connectTimeoutMs: 2_000,
    ...opts,
  });
  const events: Array<[string, ...unknown[]]> = [];
  const stanzas: Element[] = [];
  link.on('online', () => events.push(['online']));
  link.on('offline', (reason) => events.push(['offline', reason]));
  link.on('stanza', (el) => stanzas.push(el));
  links.push(link);
  link.start();
  const count = (e: string) => events.filter(([name]) => name === e).length;
  return { link, events, stanzas, count, ...cap };
}

const at = (lines: Array<Record<string, any>>, level: 'error' | 'warn') => lines.filter((l) => l.level === (level === 'error' ? 50 : 40));

afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.stop()));
  await Promise.all(servers.splice(0).map((s) => closeServer(s)));
});

describe('XEP-0114 component link', () => {
  it('opens the component stream, answers the stream id with SHA-1(id + secret) in lower-case hex, and comes online', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    const c = srv.conns[0]!;
    expect(c.header).toMatchObject({ local: 'stream', defaultNs: COMPONENT_NS, attrs: { to: DOMAIN } });
    expect(c.raw.startsWith(`<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept'`)).toBe(true);
    const handshake = c.elements.find((e) => e.name === 'handshake')!;
    expect(handshake.text()).toMatch(/^[0-9a-f]{40}$/);
    expect(handshake.text()).toBe(expectedDigest(STREAM_ID, SECRET));
    expect(t.events).toEqual([['online']]);
    expect(t.link.lastError).toBeUndefined();
    expect(t.link.domain).toBe(DOMAIN);
    // The secret never reaches the log.
    expect(t.raw()).not.toContain(SECRET);
  });

  it('emits incoming stanzas without the component namespace, payload namespaces kept', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    srv.conns[0]!.write(
      `<message from='alice@localhost/pc' to='x@${DOMAIN}' type='chat' id='m1'><body>hi &amp; bye</body></message>` +
        `<iq type='get' id='q1' from='alice@localhost/pc' to='${DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    await waitUntil(() => t.stanzas.length === 2, 5_000);
    const [msg, iq] = t.stanzas as [Element, Element];
    expect(msg.attrs.xmlns).toBeUndefined();
    expect(stanzaKind(msg)).toBe('message');
    expect(msg.getChildText('body')).toBe('hi & bye');
    expect(stanzaKind(iq)).toBe('iq');
    expect(iq.getChild('query')?.getNS()).toBe('http://jabber.org/protocol/disco#info');
    // The link answers nothing itself: the iq is the caller's.
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.conns[0]!.elements.map((e) => e.name)).toEqual(['handshake']);
  });

  it('sends stanzas in the stream namespace: no xmlns of their own, jabber:client dropped', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    const c = srv.conns[0]!;
    const before = c.raw.length;
    expect(t.link.send(x('message', { from: `x@${DOMAIN}`, to: 'alice@localhost', type: 'chat' }, x('body', null, 'one')))).toBe(true);
    expect(t.link.send(x('presence', { xmlns: 'jabber:client', from: `x@${DOMAIN}/gw`, to: 'alice@localhost' }))).toBe(true);
    await waitUntil(() => c.elements.length === 3, 5_000);
    const [, message, presence] = c.elements as [Element, Element, Element];
    expect(message.getNS()).toBe(COMPONENT_NS);
    expect(message.getChildText('body')).toBe('one');
    expect(presence.getNS()).toBe(COMPONENT_NS);
    expect(c.raw.slice(before)).not.toContain('xmlns');
  });

  it('refuses a stanza whose from is outside the domain or that has no to, and the stream stays up', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    const c = srv.conns[0]!;
    const bad = [
      x('message', { from: 'x@evil.example', to: 'alice@localhost' }),
      x('message', { from: `x@sub.${DOMAIN}`, to: 'alice@localhost' }),
      x('message', { from: `${DOMAIN}.evil`, to: 'alice@localhost' }),
      x('iq', { to: 'alice@localhost', type: 'get', id: 'a' }),
      x('presence', { from: `x@${DOMAIN}` }),
    ];
    for (const s of bad) expect(t.link.send(s)).toBe(false);
    const errors = at(t.lines(), 'error');
    expect(errors.map((l) => [l.stanza, l.attr])).toEqual([
      ['message', 'from'],
      ['message', 'from'],
      ['message', 'from'],
      ['iq', 'from'],
      ['presence', 'to'],
    ]);
    const good = [DOMAIN, `x@${DOMAIN}`, `x@${DOMAIN}/res/with@at`, `${DOMAIN}/gw`, `Xy@PEERS.Example.ORG`];
    for (const from of good) expect(t.link.send(x('message', { from, to: 'alice@localhost' }))).toBe(true);
    await waitUntil(() => c.elements.length === 1 + good.length, 5_000);
    expect(c.elements.slice(1).map((e) => e.attrs.from)).toEqual(good);
    expect(t.link.online).toBe(true);
  });

  it('send() is false while not online, with a debug line', async () => {
    const t = startLink(await freePort());
    expect(t.link.send(x('message', { from: DOMAIN, to: 'a@b' }))).toBe(false);
    expect(t.lines().some((l) => l.level === 20 && /not online/.test(l.msg))).toBe(true);
  });

  describe('tells each failure in plain words, once while it repeats, and retries', () => {
    const cases: Array<[string, string | undefined, 'error' | 'warn', RegExp]> = [
      ['not-authorized', 'Given token does not match calculated token', 'error', /refused the component secret for peers\.example\.org: component\.secret must equal the server's component_secret \(Prosody\) \/ password \(ejabberd\)/],
      ['conflict', undefined, 'error', /another connection already serves peers\.example\.org on 127\.0\.0\.1:\d+ \(conflict\): is a second gateway running/],
      ['host-unknown', undefined, 'error', /does not know the component domain peers\.example\.org.*Component "peers\.example\.org".*ejabberd_service/],
      ['host-gone', undefined, 'error', /does not know the component domain peers\.example\.org/],
      ['improper-addressing', undefined, 'error', /does not know the component domain peers\.example\.org/],
      ['invalid-namespace', undefined, 'error', /is 127\.0\.0\.1:\d+ its component port, not the client port/],
      ['policy-violation', 'too many things', 'warn', /127\.0\.0\.1:\d+ refused the component stream for peers\.example\.org: policy-violation: too many things/],
    ];
    for (const [condition, text, level, line] of cases) {
      it(`<${condition}/>`, async () => {
        const srv = await fakeServer(acceptWith((c) => c.streamError(condition, text)));
        const t = startLink(srv.port);
        await waitUntil(() => srv.conns.length >= 3, 5_000);
        const logged = at(t.lines(), level).filter((l) => line.test(l.msg));
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({ domain: DOMAIN, server: `127.0.0.1:${srv.port}`, condition });
        expect(t.link.lastError).toMatch(line);
        expect(t.count('online')).toBe(0);
        // The link answered the server's error with its own close.
        await waitUntil(() => srv.conns[0]!.clientClosed, 5_000);
      });
    }

    it('the server closing right after the handshake reads as a refused secret', async () => {
      const srv = await fakeServer(acceptWith((c) => c.socket.end()));
      const t = startLink(srv.port);
      await waitUntil(() => srv.conns.length >= 2, 5_000);
      expect(at(t.lines(), 'error').filter((l) => /refused the component secret for peers\.example\.org/.test(l.msg))).toHaveLength(1);
    });

    it('a closed port: cannot reach, logged once over several attempts', async () => {
      const port = await freePort();
      const t = startLink(port);
      await waitUntil(() => t.lines().filter((l) => /same failure again/.test(l.msg)).length >= 2, 5_000);
      const warns = at(t.lines(), 'warn');
      expect(warns).toHaveLength(1);
      expect(warns[0]!.msg).toBe(
        `cannot reach the XMPP server's component port 127.0.0.1:${port} (ECONNREFUSED): is it running and is the component port open? (component domain ${DOMAIN})`,
      );
    });

    it('a server that never answers: handshake timeout', async () => {
      const srv = await fakeServer({ onHeader: () => {}, onElement: () => {} });
      const t = startLink(srv.port, { connectTimeoutMs: 200 });
      await waitUntil(() => srv.conns.length >= 2, 5_000);
      expect(at(t.lines(), 'warn')[0]!.msg).toMatch(/did not complete the component handshake for peers\.example\.org within 200 ms/);
    });

    it('bad XML from the server: closed with the matching stream error, then a new connection', async () => {
      const srv = await fakeServer();
      const t = startLink(srv.port);
      await waitUntil(() => t.link.online, 5_000);
      srv.conns[0]!.write('<message><a></b></message>');
      await waitUntil(() => srv.conns.length >= 2 && t.count('online') === 2, 5_000);
      expect(srv.conns[0]!.raw).toMatch(/<stream:error><not-well-formed xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>.*<\/stream:stream>$/);
      expect(at(t.lines(), 'warn')[0]!.msg).toMatch(/sent bad XML on the component stream for peers\.example\.org \(not-well-formed/);
      expect(t.events.map((e) => e[0])).toEqual(['online', 'offline', 'online']);
    });
  });

  it('a server that drops the stream: offline once, then online again; lastError cleared', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    srv.conns[0]!.socket.destroy();
    await waitUntil(() => t.count('online') === 2, 5_000);
    expect(t.events).toEqual([
      ['online'],
      ['offline', `the XMPP server 127.0.0.1:${srv.port} closed the component stream for ${DOMAIN} (connection closed)`],
      ['online'],
    ]);
    expect(t.link.lastError).toBeUndefined();

    srv.conns[1]!.write('</stream:stream>');
    await waitUntil(() => t.count('online') === 3, 5_000);
    expect(t.events[3]).toEqual(['offline', expect.stringMatching(/closed the component stream for peers\.example\.org \(end of stream\)/)]);
    expect(srv.conns[1]!.clientClosed).toBe(true);
  });

  it('the backoff starts again from its first delay after 10 s online, not after a short online spell', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // only the clock: sockets and timers stay real
    try {
      // Three refusals grow the backoff; then the server accepts.
      const srv = await fakeServer(
        acceptWith((c, ok) => (srv.conns.indexOf(c) < 3 || !ok ? c.streamError('not-authorized') : c.write('<handshake/>'))),
      );
      const t = startLink(srv.port, { backoff: { firstMs: 20, maxMs: 1_000 } });
      const retries = () => t.lines().filter((l) => l.retryInMs !== undefined).map((l) => l.retryInMs as number);
      await waitUntil(() => t.link.online, 5_000);
      // Delays so far: [10, 20], [20, 40], [40, 80]. A drop after a short spell online draws [80, 160].
      srv.conns[3]!.socket.destroy();
      await waitUntil(() => t.count('online') === 2, 5_000);
      expect(retries()[3]).toBeGreaterThanOrEqual(80);
      // Online for 10 s or more: the next drop retries within the first delay again.
      vi.setSystemTime(Date.now() + 10_000);
      srv.conns[4]!.socket.destroy();
      await waitUntil(() => t.count('online') === 3, 5_000);
      expect(retries()[4]).toBeLessThanOrEqual(20);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stop() sends </stream:stream>, waits for the server\'s, emits offline, and never reconnects', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    const c = srv.conns[0]!;
    const began = Date.now();
    await t.link.stop();
    expect(Date.now() - began).toBeLessThan(1_500);
    expect(c.clientClosed).toBe(true);
    expect(t.events).toEqual([['online'], ['offline', 'stopped']]);
    expect(t.link.online).toBe(false);
    await waitUntil(() => c.gone, 2_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(srv.conns).toHaveLength(1);
  });

  it('stop() gives a silent server at most 2 s', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    await waitUntil(() => t.link.online, 5_000);
    srv.conns[0]!.answerClose = false;
    const began = Date.now();
    await t.link.stop();
    expect(Date.now() - began).toBeGreaterThanOrEqual(1_900);
    expect(Date.now() - began).toBeLessThan(3_000);
    expect(srv.conns[0]!.clientClosed).toBe(true);
  });

  it('stop() during the backoff wait cancels the retry', async () => {
    const srv = await fakeServer(acceptWith((c) => c.streamError('not-authorized')));
    const t = startLink(srv.port, { backoff: { firstMs: 300, maxMs: 300 } });
    await waitUntil(() => t.link.lastError !== undefined, 5_000);
    await t.link.stop();
    await new Promise((r) => setTimeout(r, 600));
    expect(srv.conns).toHaveLength(1);
  });

  it('a server that does not read is cut at the write-buffer cap and reconnected', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port, { maxWriteBuffer: 64 * 1024 });
    await waitUntil(() => t.link.online, 5_000);
    srv.conns[0]!.socket.pause();
    const big = 'y'.repeat(256 * 1024);
    let sent = 0;
    while (sent < 400 && t.link.send(x('message', { from: `x@${DOMAIN}`, to: 'a@localhost' }, x('body', null, big)))) sent++;
    expect(sent).toBeLessThan(400);
    expect(t.events[1]).toEqual(['offline', expect.stringMatching(/is not reading the component stream for peers\.example\.org \(\d+ bytes queued\): connection cut/)]);
    await waitUntil(() => t.count('online') === 2, 5_000);
  });

  it('sends a whitespace keepalive when idle', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port, { keepaliveMs: 100 });
    await waitUntil(() => t.link.online, 5_000);
    const c = srv.conns[0]!;
    const before = c.raw.length;
    await waitUntil(() => c.raw.length >= before + 2, 5_000);
    expect(c.raw.slice(before).trim()).toBe('');
  });

  it('a throwing stanza listener is logged, and the stream stays up', async () => {
    const srv = await fakeServer();
    const t = startLink(srv.port);
    t.link.on('stanza', () => {
      throw new Error('listener bug');
    });
    await waitUntil(() => t.link.online, 5_000);
    srv.conns[0]!.write(`<message from='a@localhost' to='x@${DOMAIN}'/><message from='a@localhost' to='y@${DOMAIN}'/>`);
    await waitUntil(() => t.stanzas.length === 2, 5_000);
    expect(t.link.online).toBe(true);
    expect(at(t.lines(), 'error').filter((l) => /listener threw/.test(l.msg))).toHaveLength(2);
  });
});
