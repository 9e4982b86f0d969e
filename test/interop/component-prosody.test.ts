// The XEP-0114 component link against a real Prosody: the handshake with the right secret, a
// message each way between a Prosody user (@xmpp/client) and the component domain, a wrong
// secret and a second link for the same domain told plainly, and Prosody restarting.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { XmppJsClient } from '../../clients/xmppjs/client.js';
import { x, type Element } from '../../gateway/xmpp/xml/element.js';
import { ComponentLink } from '../../gateway/xmpp/xep-0114-component.js';
import { removeTmpDirs } from '../support/identities.js';
import { killAll, waitUntil } from '../support/proc.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { interopSuite } from '../support/tools.js';

/** Real programs: generous, never a timed assertion. */
const T = 120_000;
const DOMAIN = 'peers.localhost';
const SECRET = 'component-secret-for-the-test';
const USERS = { alice: 'pw-alice' };

interopSuite('XEP-0114 component link against Prosody', ['prosody'], () => {
  let prosody: ProsodyServer;
  const links: ComponentLink[] = [];
  const clients: XmppJsClient[] = [];

  beforeAll(async () => {
    prosody = await startProsody({ users: USERS, components: { [DOMAIN]: SECRET } });
  });

  afterEach(async () => {
    await Promise.all(links.splice(0).map((l) => l.stop()));
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });

  afterAll(async () => {
    await prosody?.stop();
    await killAll();
    removeTmpDirs();
  });

  function link(secret = SECRET, domain = DOMAIN) {
    const out: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out.push(String(chunk));
        cb();
      },
    });
    const l = new ComponentLink({
      host: '127.0.0.1',
      port: prosody.componentPort,
      domain,
      secret,
      log: pino({ level: 'debug' }, sink),
      backoff: { firstMs: 100, maxMs: 1_000 },
    });
    const events: string[] = [];
    const stanzas: Element[] = [];
    l.on('online', () => events.push('online'));
    l.on('offline', (reason) => events.push(`offline: ${reason}`));
    l.on('stanza', (el) => stanzas.push(el));
    links.push(l);
    l.start();
    const lines = (): Array<Record<string, any>> => out.join('').split('\n').filter(Boolean).map((s) => JSON.parse(s));
    return { link: l, events, stanzas, lines, raw: () => out.join('') };
  }

  it('comes online with the right secret; a message goes each way between a Prosody user and the component', async () => {
    const c = link();
    await waitUntil(() => c.link.online, 20_000);

    const alice = new XmppJsClient({
      service: `xmpp://127.0.0.1:${prosody.c2sPort}`,
      domain: prosody.domain,
      username: 'alice',
      password: USERS.alice,
      ca: readFileSync(prosody.tls.caCertFile, 'utf8'),
    });
    clients.push(alice);
    const aliceJid = await alice.start();
    await alice.presence();

    await alice.send(`x@${DOMAIN}`, 'hello, component');
    await waitUntil(() => c.stanzas.some((s) => s.name === 'message'), 20_000);
    const got = c.stanzas.find((s) => s.name === 'message')!;
    expect(got.attrs.xmlns).toBeUndefined();
    expect(got.attrs.from).toBe(aliceJid);
    expect(got.attrs.to).toBe(`x@${DOMAIN}`);
    expect(got.getChildText('body')).toBe('hello, component');

    const mark = alice.mark();
    expect(c.link.send(x('message', { from: `x@${DOMAIN}/gw`, to: aliceJid, type: 'chat', id: 'c1' }, x('body', null, 'hello, alice')))).toBe(true);
    const reply = await alice.nextMessage((m) => m.from === `x@${DOMAIN}/gw`, 20_000, mark);
    expect(reply.body).toBe('hello, alice');

    // A stanza Prosody would close the stream for is held back; the stream stays up.
    expect(c.link.send(x('message', { from: 'x@elsewhere.example', to: aliceJid }, x('body', null, 'no')))).toBe(false);
    expect(c.link.send(x('message', { from: `x@${DOMAIN}`, to: aliceJid, type: 'chat' }, x('body', null, 'still here')))).toBe(true);
    await alice.nextMessage((m) => m.body === 'still here', 20_000, mark);
    expect(c.link.online).toBe(true);
    expect(c.events).toEqual(['online']);
    expect(c.raw()).not.toContain(SECRET);
  }, T);

  it('a wrong secret: the refused-secret line, once, and retries', async () => {
    const c = link('not-the-secret');
    await waitUntil(() => c.lines().filter((l) => /same failure again/.test(l.msg)).length >= 2, 30_000);
    const errors = c.lines().filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toBe(
      `the server 127.0.0.1:${prosody.componentPort} refused the component secret for ${DOMAIN}: ` +
        `component.secret must equal the server's component_secret (Prosody) / password (ejabberd)`,
    );
    expect(errors[0]).toMatchObject({ condition: 'not-authorized', domain: DOMAIN });
    expect(c.events).toEqual([]);
    expect(c.link.lastError).toBe(errors[0]!.msg);
    expect(c.raw()).not.toContain('not-the-secret');
  }, T);

  it('a domain the server does not serve: told which domain to declare, and retried', async () => {
    const c = link(SECRET, 'undeclared.localhost');
    const refused = (l: Record<string, any>) => l.level >= 40 && /undeclared\.localhost/.test(l.msg);
    await waitUntil(() => c.lines().some(refused), 20_000);
    const line = c.lines().find(refused)!;
    expect(line.msg).toMatch(/does not know the component domain undeclared\.localhost/);
    expect(c.events).toEqual([]);
  }, T);

  it('a second link for the same domain: the conflict line (Prosody kicks the new one by default)', async () => {
    const first = link();
    await waitUntil(() => first.link.online, 20_000);
    const second = link();
    const conflict = (l: Record<string, any>) => l.level === 50 && l.condition === 'conflict';
    await waitUntil(() => first.lines().some(conflict) || second.lines().some(conflict), 20_000);
    const line = [...first.lines(), ...second.lines()].find(conflict)!;
    expect(line.msg).toBe(
      `another connection already serves ${DOMAIN} on 127.0.0.1:${prosody.componentPort} (conflict): is a second gateway running with the same component domain?`,
    );
    expect(second.lines().some(conflict)).toBe(true);
    expect(first.link.online).toBe(true);
  }, T);

  it('Prosody killed and started again on the same ports: offline, then online again', async () => {
    const c = link();
    await waitUntil(() => c.link.online, 20_000);
    await prosody.proc.kill();
    await waitUntil(() => c.events.length >= 2, 20_000);
    expect(c.events[1]).toMatch(/^offline: the XMPP server 127\.0\.0\.1:\d+ closed the component stream for peers\.localhost \(/);
    expect(c.link.online).toBe(false);
    await prosody.restart();
    await waitUntil(() => c.link.online, 30_000);
    expect(c.events.slice(0, 3).map((e) => e.split(':')[0])).toEqual(['online', 'offline', 'online']);
  }, T);
});
