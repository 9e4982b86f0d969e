// Stream negotiation dialogues (RFC 6120 §4-§7): header, features, SASL, bind, session,
// the iq rules of the core, and strictly ordered processing.
import { afterEach, describe, expect, it } from 'vitest';
import { HANDLED, type Feature } from '../../gateway/xmpp/feature.js';
import { StanzaError } from '../../gateway/xmpp/errors.js';
import { LoginRateLimiter } from '../../gateway/xmpp/login-rate-limit.js';
import { x, type Element } from '../../gateway/xmpp/xml/element.js';
import { PING, probeFeature, testPing } from '../support/core-features.js';
import {
  SASL_NS,
  STREAM_NS,
  stanzaErrorOf,
  startTestGateway,
  streamHeader,
  type TestGateway,
  type TestGatewayOptions,
} from '../support/xmpp-harness.js';

const BIND_NS = 'urn:ietf:params:xml:ns:xmpp-bind';
const mechanisms = (features: Element) =>
  features.getChild('mechanisms', SASL_NS)?.getChildren('mechanism').map((m) => m.text()) ?? [];
const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

let gw: TestGateway;
afterEach(() => gw?.stop());

async function gateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  gw = await startTestGateway({ features: [testPing], ...opts });
  return gw;
}

describe('stream header and features', () => {
  it('answers the header with version 1.0, a fresh id and from=domain, even when <?xml?> comes in its own read', async () => {
    await gateway();
    const c = await gw.connect();
    c.send(`<?xml version='1.0'?>`);
    await new Promise((r) => setTimeout(r, 20));
    c.send(streamHeader().replace(`<?xml version='1.0'?>`, ''));
    const header = await c.next((el) => el.name === 'stream');
    expect(header.attrs).toMatchObject({ version: '1.0', from: 'localhost', 'xml:lang': 'en' });
    expect(header.attrs.id).toMatch(/^[0-9a-f]{24}$/);
    const c2 = await gw.connect();
    c2.send(streamHeader());
    expect((await c2.next((el) => el.name === 'stream')).attrs.id).not.toBe(header.attrs.id);
  });

  it('offers STARTTLS and SCRAM before TLS, never PLAIN or <sm/> on a plain stream', async () => {
    await gateway();
    const c = await gw.connect();
    const features = await c.open();
    expect(features.getChild('starttls', 'urn:ietf:params:xml:ns:xmpp-tls')).toBeDefined();
    expect(features.getChild('starttls')?.getChild('required')).toBeUndefined();
    expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1']);
    expect(features.getChild('sm')).toBeUndefined();
    expect(features.getChild('bind')).toBeUndefined();
  });

  it('offers PLAIN without TLS only when configured, and PLAIN then works', async () => {
    await gateway({ server: { allowPlainWithoutTls: true } });
    const c = await gw.connect();
    expect(mechanisms(await c.open())).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    c.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${plain(gw.username, gw.password)}</auth>`);
    expect((await c.next()).name).toBe('success');
  });

  it('refuses PLAIN on a plain stream with invalid-mechanism', async () => {
    await gateway();
    const c = await gw.connect();
    await c.open();
    c.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${plain(gw.username, gw.password)}</auth>`);
    const failure = await c.next();
    expect(failure.name).toBe('failure');
    expect(failure.getChild('invalid-mechanism')).toBeDefined();
  });

  it('closes a stream to another domain with host-unknown', async () => {
    await gateway();
    const c = await gw.connect();
    c.send(streamHeader('example.org'));
    expect(await c.closed).toEqual({ streamError: 'host-unknown' });
  });

  it('after SASL: bind, optional session, sm, rosterver and csi; no mechanisms, no STARTTLS', async () => {
    await gateway();
    const c = await gw.connect();
    await c.open();
    await c.authenticate(gw.username, gw.password, 'SHA-256');
    const features = await c.open();
    expect(features.elements().map((e) => `${e.getNS()} ${e.name}`)).toEqual([
      `${BIND_NS} bind`,
      'urn:ietf:params:xml:ns:xmpp-session session',
      'urn:xmpp:sm:3 sm',
      'urn:xmpp:features:rosterver ver',
      'urn:xmpp:csi:0 csi',
    ]);
    expect(features.getChild('session')?.getChild('optional')).toBeDefined();
  });
});

describe('SASL', () => {
  it('SCRAM-SHA-1 and SCRAM-SHA-256 succeed with v= in <success/> (the harness checks the signature)', async () => {
    await gateway();
    for (const hash of ['SHA-1', 'SHA-256'] as const) {
      const c = await gw.connect();
      await c.open();
      const success = await c.authenticate(gw.username, gw.password, hash);
      expect(Buffer.from(success.text(), 'base64').toString()).toMatch(/^v=/);
    }
  });

  it('answers a wrong password with not-authorized, and closes the stream after three', async () => {
    await gateway();
    const c = await gw.connect();
    await c.open();
    for (let i = 0; i < 3; i++) {
      await expect(c.authenticate(gw.username, 'wrong password')).rejects.toThrow(/not-authorized/);
    }
    expect(await c.closed).toEqual({ streamError: 'policy-violation' });
    // The right password still works on a new stream.
    expect((await gw.login()).jid).toMatch(/^me@localhost\//);
  });

  it('answers temporary-auth-failure while the rate limiter holds the account', async () => {
    await gateway({ server: { rateLimiter: new LoginRateLimiter({ freeFailures: 1, baseDelayMs: 60_000 }) } });
    const c = await gw.connect();
    await c.open();
    await expect(c.authenticate(gw.username, 'bad')).rejects.toThrow(/not-authorized/);
    // Locked now: even the right password waits.
    await expect(c.authenticate(gw.username, gw.password)).rejects.toThrow(/temporary-auth-failure/);
  });

  it('answers <abort/> with aborted, and malformed base64 with incorrect-encoding', async () => {
    await gateway();
    const c = await gw.connect();
    await c.open();
    c.send(`<auth xmlns='${SASL_NS}' mechanism='SCRAM-SHA-1'>biwsbj1tZSxyPWFiYw==</auth>`);
    expect((await c.next()).name).toBe('challenge');
    c.send(`<abort xmlns='${SASL_NS}'/>`);
    expect((await c.next()).getChild('aborted')).toBeDefined();
    c.send(`<auth xmlns='${SASL_NS}' mechanism='SCRAM-SHA-1'>%%%</auth>`);
    expect((await c.next()).getChild('incorrect-encoding')).toBeDefined();
  });
});

describe('bind and session', () => {
  it('binds the requested resource under the account domain, or a generated one', async () => {
    await gateway();
    expect((await gw.login({ resource: 'pidgin' })).jid).toBe('me@localhost/pidgin');
    expect((await gw.login()).jid).toMatch(/^me@localhost\/tlsim-[0-9a-f]{12}$/);
  });

  it('answers the legacy session iq with a result, always (Pidgin disconnects on an error)', async () => {
    await gateway();
    const c = await gw.login({ presence: false });
    for (const type of ['set', 'get'] as const) {
      const reply = await c.iq(`<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>`, { type });
      expect(reply.attrs.type).toBe('result');
    }
  });

  it('a second login with the same resource replaces the first with a conflict stream error', async () => {
    await gateway();
    const first = await gw.login({ resource: 'laptop' });
    const second = await gw.login({ resource: 'laptop' });
    expect(await first.closed).toEqual({ streamError: 'conflict' });
    expect((await second.iq(PING)).attrs.type).toBe('result');
  });

  it('processes bind and <enable/> pipelined in one write strictly in order (Pidgin)', async () => {
    await gateway();
    const c = await gw.connect();
    await c.open();
    await c.authenticate(gw.username, gw.password);
    await c.open();
    c.send(
      `<iq type='set' id='b1'><bind xmlns='${BIND_NS}'><resource>p</resource></bind></iq><enable xmlns='urn:xmpp:sm:3'/>` +
        `<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq><r xmlns='urn:xmpp:sm:3'/>`,
    );
    const names = [];
    for (let i = 0; i < 4; i++) {
      const el = await c.next();
      names.push(`${el.name}${el.attrs.id ? `#${el.attrs.id}` : ''}${el.attrs.h !== undefined ? `@${el.attrs.h}` : ''}`);
    }
    expect(names).toEqual(['iq#b1', 'enabled', 'iq#s1', 'a@1']);
  });
});

describe('iq rules of the core', () => {
  it('answers an iq nobody handles with service-unavailable, and one with two children with bad-request', async () => {
    await gateway();
    const c = await gw.login();
    expect(stanzaErrorOf(await c.iq(`<query xmlns='urn:example:nothing'/>`))).toBe('service-unavailable');
    expect(stanzaErrorOf(await c.iq(`${PING}${PING}`))).toBe('bad-request');
    expect(stanzaErrorOf(await c.iq(''))).toBe('bad-request');
    expect((await c.iq(PING)).attrs.type).toBe('result');
  });

  it('never answers a result or an error iq', async () => {
    await gateway();
    const c = await gw.login();
    c.send(`<iq type='result' id='x1'/><iq type='error' id='x2'><error type='cancel'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
    c.send(`<iq type='result' id='x3' to='localhost'><query xmlns='urn:example:nothing'/></iq>`);
    await c.expectNothing(300, (el) => el.name === 'iq');
  });

  it('addresses replies: no from without to, from = what the client addressed otherwise', async () => {
    await gateway();
    const c = await gw.login();
    const noTo = await c.iq(PING);
    expect(noTo.attrs.from).toBeUndefined();
    expect(noTo.attrs.to).toBe(c.jid);
    expect((await c.iq(PING, { to: 'me@localhost' })).attrs).toMatchObject({ type: 'result', from: 'me@localhost' });
    expect((await c.iq(PING, { to: 'localhost' })).attrs).toMatchObject({ type: 'result', from: 'localhost' });
    const unknown = await c.iq(PING, { to: 'someone@elsewhere.example' });
    expect(unknown.attrs.from).toBe('someone@elsewhere.example');
    expect(stanzaErrorOf(unknown)).toBe('service-unavailable');
  });

  it('turns a thrown StanzaError into that error and anything else into internal-server-error', async () => {
    const thrower: Feature = {
      name: 'thrower',
      setup(ctx) {
        ctx.iq('account', 'get', 'urn:example:t', 'stanza-error', () => {
          throw new StanzaError('item-not-found', 'no such thing');
        });
        ctx.iq('account', 'get', 'urn:example:t', 'bug', () => {
          throw new TypeError('oops');
        });
        ctx.iq('account', 'get', 'urn:example:t', 'self', (req) => {
          req.session.send(x('iq', { type: 'result', id: req.stanza.attrs.id }, x('self', { xmlns: 'urn:example:t' })));
          return HANDLED;
        });
      },
    };
    await gateway({ features: [thrower] });
    const c = await gw.login({ presence: false });
    const notFound = await c.iq(`<stanza-error xmlns='urn:example:t'/>`);
    expect(stanzaErrorOf(notFound)).toBe('item-not-found');
    expect(notFound.getChild('error')?.attrs.type).toBe('cancel');
    expect(notFound.getChild('error')?.getChildText('text')).toBe('no such thing');
    expect(stanzaErrorOf(await c.iq(`<bug xmlns='urn:example:t'/>`))).toBe('internal-server-error');
    expect((await c.iq(`<self xmlns='urn:example:t'/>`)).getChild('self')).toBeDefined();
  });

  it('answers remote-server-timeout for a handler that never finishes, and the stream goes on', async () => {
    const stuck: Feature = {
      name: 'stuck',
      setup(ctx) {
        ctx.iq('account', 'get', 'urn:example:t', 'stuck', () => new Promise(() => {}));
        ctx.iq('account', 'get', 'urn:xmpp:ping', 'ping', () => undefined);
      },
    };
    await gateway({ features: [stuck], server: { timeouts: { handlerMs: 200 } } });
    const c = await gw.login({ presence: false });
    expect(stanzaErrorOf(await c.iq(`<stuck xmlns='urn:example:t'/>`))).toBe('remote-server-timeout');
    expect((await c.iq(PING)).attrs.type).toBe('result');
  });

  it('bounces a message to a kind without handler with service-unavailable; ignores such presence', async () => {
    await gateway();
    const c = await gw.login();
    c.send(`<message to='localhost' id='m1' type='chat'><body>hi</body></message>`);
    const bounce = await c.next((el) => el.name === 'message');
    expect(bounce.attrs).toMatchObject({ type: 'error', id: 'm1', from: 'localhost' });
    expect(stanzaErrorOf(bounce)).toBe('service-unavailable');
    expect(bounce.getChildText('body')).toBe('hi');
    c.send(`<presence to='localhost' type='subscribe'/>`);
    c.send(`<message to='localhost' type='error' id='m2'/>`);
    await c.expectNothing(300, (el) => el.name !== 'presence');
  });

  it('routes stanzas to another full JID of the user straight to that session, from stamped', async () => {
    await gateway();
    const a = await gw.login({ resource: 'a' });
    const b = await gw.login({ resource: 'b' });
    a.send(`<message to='me@localhost/b' from='spoofed@example.org' type='chat' id='x'><body>to b</body></message>`);
    const got = await b.next((el) => el.name === 'message');
    expect(got.attrs).toMatchObject({ from: 'me@localhost/a', to: 'me@localhost/b', id: 'x' });
    a.send(`<iq type='get' id='q' to='me@localhost/b'><query xmlns='urn:example:x'/></iq>`);
    const iq = await b.next((el) => el.name === 'iq' && el.attrs.id === 'q');
    b.send(`<iq type='result' id='q' to='${iq.attrs.from}'/>`);
    expect((await a.next((el) => el.name === 'iq' && el.attrs.id === 'q')).attrs).toMatchObject({ type: 'result', from: 'me@localhost/b' });
  });

  it('tracks availability, fires initial-presence once, and session-closed when the stream ends', async () => {
    const probe = probeFeature();
    await gateway({ features: [testPing, probe.feature] });
    const events: string[] = [];
    const ctx = probe.ctx();
    ctx.on('initial-presence', (s) => events.push(`initial ${s.jid.resource}`));
    ctx.on('session-closed', (s) => events.push(`closed ${s.jid.resource}`));
    const c = await gw.login({ resource: 'r', presence: false });
    expect(ctx.sessions().map((s) => [s.jid.toString(), s.available])).toEqual([['me@localhost/r', false]]);
    c.send(`<presence><show>away</show></presence>`);
    c.send(`<presence/>`);
    await c.sync();
    expect(ctx.sessions()[0]?.available).toBe(true);
    expect(ctx.deliver(x('message', { to: 'me@localhost', type: 'chat' }, x('body', null, 'hello')))).toBe(1);
    expect((await c.next((el) => el.name === 'message')).getChildText('body')).toBe('hello');
    c.send(`<presence type='unavailable'/>`);
    await c.sync();
    expect(ctx.sessions()[0]?.available).toBe(false);
    expect(ctx.deliver(x('message', { to: 'me@localhost', type: 'chat' }))).toBe(0);
    await c.close();
    await expect.poll(() => events).toEqual(['initial r', 'closed r']);
    expect(ctx.sessions()).toEqual([]);
  });
});

describe('STARTTLS over TCP', () => {
  it('upgrades the socket, restarts the stream, never offers STARTTLS again, offers PLAIN over TLS', async () => {
    await gateway({ tcp: true });
    const c = await gw.connectTcp();
    const before = await c.open();
    expect(before.getChild('starttls')).toBeDefined();
    await c.starttls(gw.tls.caCertPem);
    const after = await c.open();
    expect(after.getChild('starttls')).toBeUndefined();
    expect(mechanisms(after)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    c.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${plain(gw.username, gw.password)}</auth>`);
    expect((await c.next()).name).toBe('success');
    const post = await c.open();
    expect(post.getChild('bind')).toBeDefined();
    expect(post.getChild('starttls')).toBeUndefined();
    await c.close();
  });

  it('waits for the header after TLS while the user reads the certificate question (Pidgin)', async () => {
    await gateway({ tcp: true, server: { timeouts: { headerMs: 300, negotiationMs: 10_000, tlsHandshakeMs: 5_000, handlerMs: 5_000 } } });
    const c = await gw.connectTcp();
    await c.open();
    await c.starttls(gw.tls.caCertPem);
    // Pidgin sends nothing while its "Accept certificate?" dialog is open.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(mechanisms(await c.open())).toContain('SCRAM-SHA-1');
    await c.close();
  });

  it('logs in over TCP with TLS the way the harness does for real clients', async () => {
    await gateway({ tcp: true });
    const c = await gw.login({ transport: 'tcp', resource: 'tls' });
    expect(c.jid).toBe('me@localhost/tls');
    expect((await c.iq(PING)).attrs.type).toBe('result');
    expect(c.received.find((el) => el.name === 'features' && el.getNS() === STREAM_NS)).toBeDefined();
  });
});
