// XMPP over WebSocket (RFC 7395) with the `ws` client, as Converse.js/Strophe would speak it:
// <open/> framing, namespaces declared in every message, restart after SASL, and the
// handshake checks that keep web pages out (Origin, Host, subprotocol).
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseFramedElement } from '../../gateway/xmpp/xml/parser.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { PING, testPing } from '../support/core-features.js';
import { SASL_NS, startTestGateway, type TestGateway } from '../support/xmpp-harness.js';

const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const OPEN = `<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`;

let gw: TestGateway;
afterEach(() => gw?.stop());

/** A WebSocket XMPP client that keeps raw messages and parsed elements in order. */
class WsClient {
  readonly raw: string[] = [];
  private readonly queue: Element[] = [];
  private waiting: ((el: Element) => void) | undefined;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = String(data);
      this.raw.push(text);
      const el = parseFramedElement(text);
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(el);
      else this.queue.push(el);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  send(xml: string): void {
    this.ws.send(xml);
  }

  next(timeoutMs = 5000): Promise<Element> {
    const el = this.queue.shift();
    if (el) return Promise.resolve(el);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no websocket message in time')), timeoutMs);
      this.waiting = (e) => {
        clearTimeout(t);
        resolve(e);
      };
    });
  }
}

async function wsConnect(headers: Record<string, string> = {}, protocol: string | null = 'xmpp'): Promise<WsClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.websocketPort}/`, protocol ? [protocol] : [], { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return new WsClient(ws);
}

/** The HTTP status a refused handshake gets. */
function refusedStatus(headers: Record<string, string>, protocol: string | null = 'xmpp'): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.websocketPort}/`, protocol ? [protocol] : [], { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('handshake was accepted')));
    ws.once('error', () => {});
  });
}

describe('XMPP over WebSocket', () => {
  it('logs in: own <open/> message, then features declaring the stream namespace, PLAIN, restart, bind, close', async () => {
    gw = await startTestGateway({ websocket: true, features: [testPing] });
    const c = await wsConnect();
    expect(c.ws.protocol).toBe('xmpp');
    c.send(OPEN);
    const open = await c.next();
    expect(c.raw[0]).toMatch(/^<open /);
    expect(open.attrs).toMatchObject({ xmlns: FRAMING, version: '1.0', from: 'localhost', 'xml:lang': 'en' });
    expect(open.attrs.id).toBeTruthy();
    const features = await c.next();
    expect(c.raw[1]).toMatch(/^<stream:features xmlns:stream="http:\/\/etherx\.jabber\.org\/streams"/);
    expect(features.getChild('starttls')).toBeUndefined();
    const mechs = features.getChild('mechanisms', SASL_NS)?.getChildren('mechanism').map((m) => m.text());
    expect(mechs).toContain('PLAIN'); // loopback WebSocket counts as secure
    c.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${Buffer.from(`\0me\0${gw.password}`).toString('base64')}</auth>`);
    expect((await c.next()).name).toBe('success');
    c.send(OPEN);
    expect((await c.next()).name).toBe('open');
    expect((await c.next()).getChild('bind')).toBeDefined();
    c.send(`<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>`);
    const bound = await c.next();
    expect(bound.attrs.xmlns).toBe('jabber:client');
    expect(bound.getChild('bind')?.getChildText('jid')).toBe('me@localhost/web');
    c.send(`<iq xmlns='jabber:client' type='get' id='p'>${PING}</iq>`);
    const pong = await c.next();
    expect(pong.attrs).toMatchObject({ type: 'result', id: 'p', xmlns: 'jabber:client' });
    expect(c.raw.at(-1)).toMatch(/^<iq [^>]*xmlns="jabber:client"/);
    c.send(`<close xmlns='${FRAMING}'/>`);
    expect((await c.next()).name).toBe('close');
    expect(await c.closed).toBe(1000);
  });

  it('refuses a foreign Origin with 403, and accepts an allowed one', async () => {
    gw = await startTestGateway({
      websocket: true,
      features: [testPing],
      server: { websocket: { host: '127.0.0.1', port: 0, allowedOrigins: ['http://localhost:5280'] } },
    });
    expect(await refusedStatus({ origin: 'https://evil.example' })).toBe(403);
    const ok = await wsConnect({ origin: 'http://localhost:5280' });
    ok.send(OPEN);
    expect((await ok.next()).name).toBe('open');
  });

  it('refuses a handshake without the xmpp subprotocol, and a foreign Host (DNS rebinding)', async () => {
    gw = await startTestGateway({ websocket: true, features: [testPing] });
    expect(await refusedStatus({}, null)).toBe(501);
    expect(await refusedStatus({}, 'chat')).toBe(501);
    expect(await refusedStatus({ host: `evil.example:${gw.websocketPort}` })).toBe(403);
  });

  it('answers bad XML in a message with a stream error and <close/>, and only that connection ends', async () => {
    gw = await startTestGateway({ websocket: true, features: [testPing] });
    const good = await wsConnect();
    good.send(OPEN);
    await good.next();
    await good.next();
    const bad = await wsConnect();
    bad.send(OPEN);
    await bad.next();
    await bad.next();
    bad.send(`<message><body>unclosed</message>`);
    const err = await bad.next();
    expect(bad.raw.find((m) => m.includes('stream:error'))).toMatch(/^<stream:error xmlns:stream=/);
    expect(err.getChild('not-well-formed')).toBeDefined();
    expect((await bad.next()).name).toBe('close');
    await bad.closed;
    good.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${Buffer.from(`\0me\0${gw.password}`).toString('base64')}</auth>`);
    expect((await good.next()).name).toBe('success');
  });
});
