// A thin test wrapper over @xmpp/client 0.14 (xmpp.js): the same module composition as
// @xmpp/client's client(), except STARTTLS trusts a given CA (per connection, not process-wide)
// and the SASL mechanism can be forced and is recorded.
import { Client, jid } from '@xmpp/client-core';
import xml, { type Element } from '@xmpp/xml';
import _reconnect from '@xmpp/reconnect';
import _websocket from '@xmpp/websocket';
import _tcp from '@xmpp/tcp';
import _tls from '@xmpp/tls';
import _middleware from '@xmpp/middleware';
import _streamFeatures from '@xmpp/stream-features';
import _iqCaller from '@xmpp/iq/caller.js';
import _iqCallee from '@xmpp/iq/callee.js';
import _resolve from '@xmpp/resolve';
import _sasl2 from '@xmpp/sasl2';
import _sasl from '@xmpp/sasl';
import _resourceBinding from '@xmpp/resource-binding';
import _streamManagement from '@xmpp/stream-management';
import _bind2 from '@xmpp/client-core/src/bind2/bind2.js';
import _fast from '@xmpp/client-core/src/fast/fast.js';
import { canUpgrade, upgrade } from '@xmpp/starttls/starttls.js';
import SASLFactory from 'saslmechanisms';
import scramsha1 from '@xmpp/sasl-scram-sha-1';
import plain from '@xmpp/sasl-plain';
import anonymous from '@xmpp/sasl-anonymous';
import htsha256none from '@xmpp/sasl-ht-sha-256-none';
import { WebSocket as WsWebSocket } from 'ws';
import { firstMatch } from '../../test/support/first-match.js';

export { xml, type Element };

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

// @xmpp/websocket opens `new WebSocket(url, ['xmpp'])` on the global, which Node 20 lacks
// (Node 22 has one). ws's WebSocket speaks the same EventTarget API.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

export interface XmppJsOptions {
  /** 'xmpp://127.0.0.1:PORT' (TCP + STARTTLS) or 'ws://127.0.0.1:PORT/path' (RFC 7395). */
  service: string;
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /** PEM CA certificate(s) STARTTLS verifies the server against (instead of the system store). */
  ca?: string | string[];
  /**
   * Mechanism to use. @xmpp/client 0.14 implements SCRAM-SHA-1, PLAIN and ANONYMOUS (no
   * SCRAM-SHA-256); by default it takes the first it supports that the server offers.
   */
  mechanism?: 'SCRAM-SHA-1' | 'PLAIN';
}

export class XmppJsClient {
  readonly xmpp: Client;
  readonly iqCaller: ReturnType<typeof _iqCaller>;
  /** XEP-0198 as @xmpp/stream-management runs it: its 'ack' and 'fail' events per stanza sent. */
  readonly sm: ReturnType<typeof _streamManagement>;
  /** Mechanisms the server offered (from <mechanisms/>), and the one used. */
  offeredMechanisms: string[] = [];
  mechanismUsed: string | undefined;
  /** Whether the stream went through STARTTLS. */
  tlsUpgraded = false;
  /** Every stanza received (message, presence, iq), in order. */
  readonly stanzas: Element[] = [];
  /** Errors the connection emitted. */
  readonly errors: Error[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly opts: XmppJsOptions) {
    const { resource, username, password, domain } = opts;
    // xmpp.js waits 2 s by default for a stream header or a reply: too short on a loaded test machine
    // (a stream restart after STARTTLS timed out under two suites at once). Our waits are our own.
    const entity = new Client({ service: opts.service, domain, timeout: 30_000 });
    entity.jid = jid(username, domain);
    this.xmpp = entity;
    const reconnect = _reconnect({ entity });
    reconnect.stop(); // tests want failures, not retries
    _websocket({ entity });
    _tcp({ entity });
    _tls({ entity });
    const middleware = _middleware({ entity });
    const streamFeatures = _streamFeatures({ middleware });
    this.iqCaller = _iqCaller({ middleware, entity });
    const iqCallee = _iqCallee({ middleware, entity });
    _resolve({ entity });
    const saslFactory = new SASLFactory();
    scramsha1(saslFactory);
    plain(saslFactory);
    anonymous(saslFactory);

    // STARTTLS as @xmpp/starttls does it, plus our CA and the domain as SNI/hostname.
    streamFeatures.use('starttls', NS_TLS, async ({ entity: e }: { entity: Client }, next) => {
      if (!canUpgrade(e.socket)) return next();
      const answer = await e.sendReceive(xml('starttls', { xmlns: NS_TLS }));
      if (!answer.is('proceed', NS_TLS)) throw new Error(`STARTTLS_FAILURE: ${answer.toString()}`);
      const tlsSocket = await upgrade(e.socket, { host: domain, servername: domain, ...(opts.ca ? { ca: opts.ca } : {}) });
      e._attachSocket(tlsSocket);
      this.tlsUpgraded = true;
      await e.restart();
    });
    // Record what was offered before @xmpp/sasl picks.
    streamFeatures.use('mechanisms', NS_SASL, async (_ctx, next, feature) => {
      this.offeredMechanisms = feature.getChildren('mechanism', NS_SASL).map((m) => m.text());
      return next();
    });

    const userAgent = xml('user-agent', { id: globalThis.crypto.randomUUID() });
    const onAuthenticate = async (
      authenticate: (creds: Record<string, unknown>, mechanism: string, userAgent?: unknown) => Promise<void>,
      mechanisms: string[],
    ): Promise<void> => {
      const wanted = opts.mechanism;
      let mechanism: string | undefined;
      if (wanted) {
        if (!mechanisms.includes(wanted)) {
          throw new Error(`SASL: ${wanted} not usable (server offered ${this.offeredMechanisms.join(', ')}; usable ${mechanisms.join(', ')})`);
        }
        mechanism = wanted;
      } else {
        // @xmpp/client's own rule: the first usable; never PLAIN on an insecure stream.
        mechanism = entity.isSecure() ? mechanisms[0] : mechanisms.find((m) => m !== 'PLAIN');
      }
      if (!mechanism) throw new Error(`SASL: no usable mechanism among ${this.offeredMechanisms.join(', ')}`);
      this.mechanismUsed = mechanism;
      await authenticate({ username, password }, mechanism, userAgent);
    };
    const sasl2 = _sasl2({ streamFeatures, saslFactory }, onAuthenticate);
    const fast = _fast({ sasl2, entity });
    sasl2.setup({ fast });
    const bind2 = _bind2({ sasl2, entity }, resource);
    htsha256none(fast.saslFactory);
    _sasl({ streamFeatures, saslFactory }, onAuthenticate);
    this.sm = _streamManagement({ streamFeatures, entity, middleware, bind2, sasl2 });
    _resourceBinding({ iqCaller: this.iqCaller, streamFeatures }, resource);
    iqCallee.get('urn:xmpp:ping', 'ping', () => ({}));

    entity.on('stanza', (el: Element) => {
      this.stanzas.push(el);
      this.notify();
    });
    entity.on('error', (err: Error) => {
      this.errors.push(err);
      this.notify();
    });
    entity.on('offline', () => this.notify());
  }

  /** Connects and logs in; resolves with the bound JID once online. */
  async start(): Promise<string> {
    const bound = await this.xmpp.start();
    return bound.toString();
  }

  async stop(): Promise<void> {
    try {
      await this.xmpp.stop();
    } catch {
      // already gone
    }
  }

  get jid(): string | undefined {
    return this.xmpp.jid?.toString();
  }

  /** Index of the next stanza, for waitFor's `from`. */
  mark(): number {
    return this.stanzas.length;
  }

  /** The first received stanza (already or later, from index `from`) matching. */
  waitFor(pred: (el: Element) => boolean, timeoutMs = 30_000, from = 0): Promise<Element> {
    return firstMatch(this.stanzas, this.waiters, pred, {
      from,
      timeoutMs,
      ended: () =>
        this.xmpp.status === 'offline' || this.xmpp.status === 'disconnect'
          ? `@xmpp/client went ${this.xmpp.status} before a matching stanza; errors: ${this.errors.map((e) => e.message).join('; ')}\n${this.recent()}`
          : undefined,
      timedOut: () => `no stanza matched within ${timeoutMs} ms; received:\n${this.recent()}`,
    });
  }

  recent(n = 20): string {
    return this.stanzas
      .slice(-n)
      .map((s) => s.toString())
      .join('\n');
  }

  async send(to: string, body: string, type = 'chat'): Promise<void> {
    await this.xmpp.send(xml('message', { to, type, id: `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}` }, xml('body', {}, body)));
  }

  /** Available presence; `priority` (RFC 6121 §4.7.2.3) adds a <priority/>, none by default (0). */
  async presence(attrs: Record<string, string> = {}, priority?: number): Promise<void> {
    const children = priority === undefined ? [] : [xml('priority', {}, String(priority))];
    await this.xmpp.send(xml('presence', attrs, ...children));
  }

  /** The next <message> with a body (from `from`, optionally matching `pred`). */
  nextMessage(pred: (m: { from: string; body: string; el: Element }) => boolean = () => true, timeoutMs = 30_000, from = 0) {
    return this.waitFor(
      (el) => el.is('message') && el.getChild('body') !== undefined && pred({ from: el.attrs.from ?? '', body: el.getChildText('body') ?? '', el }),
      timeoutMs,
      from,
    ).then((el) => ({ from: el.attrs.from ?? '', body: el.getChildText('body') ?? '', el }));
  }

  /** An iq get/set; resolves with the result iq, rejects with @xmpp's StanzaError on an error reply. */
  iq(type: 'get' | 'set', child: Element, to?: string, timeoutMs = 30_000): Promise<Element> {
    return type === 'get' ? this.iqCaller.get(child, to, timeoutMs) : this.iqCaller.set(child, to, timeoutMs);
  }

  async ping(to?: string): Promise<void> {
    await this.iq('get', xml('ping', { xmlns: 'urn:xmpp:ping' }), to);
  }

  async discoInfo(to: string): Promise<{ identities: Record<string, string | undefined>[]; features: string[] }> {
    const q = await this.iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), to);
    return {
      identities: q.getChildren('identity').map((i) => ({ ...i.attrs })),
      features: q.getChildren('feature').map((f) => f.attrs.var!).filter(Boolean),
    };
  }

  async roster(): Promise<{ jid: string; name?: string; subscription?: string }[]> {
    const q = await this.iq('get', xml('query', { xmlns: 'jabber:iq:roster' }));
    return q.getChildren('item').map((i) => ({ jid: i.attrs.jid!, name: i.attrs.name, subscription: i.attrs.subscription }));
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
