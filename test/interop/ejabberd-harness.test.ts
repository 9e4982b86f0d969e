// Smoke test of the private ejabberd harness: slixmpp users log in and chat, a raw XEP-0114 handshake
// is accepted or refused, instances do not clash, and stop() leaves no Erlang process behind.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { beamPid, isRunning, startEjabberd, type EjabberdServer } from '../support/ejabberd.js';
import { removeTmpDirs } from '../support/identities.js';
import { connectTcp } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

const run = promisify(execFile);

/** Real programs under load: generous, never a timed assertion. */
const T = 120_000;

const USERS = { alice: 'pw-alice', carol: 'pw carol with spaces' };
const COMPONENT = 'peers.localhost';
const SECRET = 'component-secret';

/** A raw XEP-0114 client: its socket and everything the server sent, as text. */
interface RawComponent {
  socket: Socket;
  received: () => string;
  waitFor: (re: RegExp, ms: number) => Promise<string>;
}

/** Opens a component stream and answers the stream id with SHA-1(id + password) (XEP-0114 §3). */
async function componentHandshake(port: number, domain: string, password: string): Promise<RawComponent> {
  const socket = await connectTcp(port);
  socket.on('error', () => {});
  let text = '';
  let answered = false;
  let closed = false;
  const waiters = new Set<() => void>();
  socket.setEncoding('utf8');
  socket.on('data', (s: string) => {
    text += s;
    const id = /<stream:stream[^>]*\sid=['"]([^'"]+)['"]/.exec(text)?.[1];
    if (id && !answered) {
      answered = true;
      socket.write(`<handshake>${createHash('sha1').update(id + password).digest('hex')}</handshake>`);
    }
    for (const w of [...waiters]) w();
  });
  socket.on('close', () => {
    closed = true;
    for (const w of [...waiters]) w();
  });
  socket.write(
    `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`,
  );
  const received = (): string => text;
  const waitFor = (re: RegExp, ms: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(received());
        if (m || closed) {
          clearTimeout(timer);
          waiters.delete(check);
          if (m) resolve(m[0]);
          else reject(new Error(`connection closed before ${String(re)}; received: ${received()}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${String(re)} within ${ms} ms; received: ${received()}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { socket, received, waitFor };
}

/** `ps` lines naming the node: after stop() there must be none (no beam.smp, runuser or ejabberdctl of it). */
async function psLines(node: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((l) => l.includes(node));
}

/** The node's beam.smp and that beam's direct children (erl_child_setup, which runs in its own session). */
function beamFamily(node: string): number[] {
  const beam = beamPid(node);
  if (beam === undefined) throw new Error(`no beam.smp for ${node}`);
  const children = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        // Field 4 of stat is the parent PID; comm (field 2) is in parentheses and may hold spaces.
        return Number(readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) === beam;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [beam, ...children];
}

interopSuite('ejabberd harness', ['ejabberd', 'slixmpp'], () => {
  let ej: EjabberdServer;
  const slix: SlixmppClient[] = [];
  const sockets: Socket[] = [];
  const servers: EjabberdServer[] = [];

  const slixmpp = async (): Promise<SlixmppClient> => {
    const c = await SlixmppClient.start();
    slix.push(c);
    return c;
  };

  beforeAll(async () => {
    ej = await startEjabberd({
      users: USERS,
      components: { [COMPONENT]: SECRET },
      balancing: { [COMPONENT]: { type: 'bare_destination', componentNumber: 2 } },
    });
    console.log(`[ejabberd] ${ej.node} listening after ${ej.startupMs} ms`);
  }, T);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(slix.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await ej?.stop();
    await killAll();
    removeTmpDirs();
  }, T);

  it('two users log in with slixmpp over verified STARTTLS and exchange a message', async () => {
    const a = await slixmpp();
    const c = await slixmpp();
    const login = (client: SlixmppClient, user: keyof typeof USERS) =>
      client.connect({ jid: `${user}@${ej.domain}`, password: USERS[user], port: ej.c2sPort, ca_file: ej.tls.caCertFile });
    const sa = await login(a, 'alice');
    const sc = await login(c, 'carol');
    expect(a.events.some((e) => e.event === 'tls')).toBe(true);
    expect(sa.mechanism).toMatch(/^SCRAM-SHA-/);
    expect(await a.ping(ej.domain)).toMatchObject({ type: 'result' });

    const from = c.mark();
    await a.send(sc.jid, 'hello through ejabberd');
    const m = await c.nextMessage((x) => x.body === 'hello through ejabberd', 30_000, from);
    expect(m.from).toBe(sa.jid);
  }, T);

  it('a raw XEP-0114 handshake with the right secret gets <handshake/>; two connections share the domain', async () => {
    const HANDSHAKE = /<handshake\s*\/>|<handshake><\/handshake>/;
    const first = await componentHandshake(ej.componentPort, COMPONENT, SECRET);
    sockets.push(first.socket);
    await first.waitFor(HANDSHAKE, 30_000);
    // componentNumber 2: two connections fill both slots (an empty slot would swallow its stanzas).
    const second = await componentHandshake(ej.componentPort, COMPONENT, SECRET);
    sockets.push(second.socket);
    await second.waitFor(HANDSHAKE, 30_000);

    const a = await slixmpp();
    await a.connect({ jid: `alice@${ej.domain}`, password: USERS.alice, port: ej.c2sPort, ca_file: ej.tls.caCertFile });
    const contacts = Array.from({ length: 8 }, (_, i) => `contact${i}@${COMPONENT}`);
    for (const to of contacts) await a.send(to, 'to the component');
    const arrived = (c: RawComponent, to: string): boolean => c.received().includes(`to='${to}'`);
    // Every stanza reaches exactly one connection; bare_destination hashing spreads these 8 over both.
    await Promise.all(contacts.map((to) => Promise.any([first, second].map((c) => c.waitFor(new RegExp(`to='${to}'`), 30_000)))));
    for (const to of contacts) expect([first, second].filter((c) => arrived(c, to))).toHaveLength(1);
    expect(contacts.filter((to) => arrived(first, to)).length).toBeGreaterThan(0);
    expect(contacts.filter((to) => arrived(second, to)).length).toBeGreaterThan(0);
  }, T);

  it('a raw XEP-0114 handshake with a wrong secret gets a stream error', async () => {
    const comp = await componentHandshake(ej.componentPort, COMPONENT, 'wrong-secret');
    sockets.push(comp.socket);
    const err = await comp.waitFor(/<stream:error>[\s\S]*?<\/stream:error>/, 30_000);
    expect(err).toMatch(/not-authorized/);
    expect(comp.received()).not.toMatch(/<handshake\s*\/>/);
  }, T);

  it('instances do not clash: one started while another runs, one after; stop() leaves no process of the node', async () => {
    // While `ej` runs: its own node name, ports, users.
    const b = await startEjabberd({ users: { bob: 'pw-bob' } });
    servers.push(b);
    console.log(`[ejabberd] second instance ${b.node} listening after ${b.startupMs} ms`);
    expect(b.node).not.toBe(ej.node);
    expect([b.c2sPort, b.componentPort]).not.toContain(ej.c2sPort);
    expect([b.c2sPort, b.componentPort]).not.toContain(ej.componentPort);
    const bob = await slixmpp();
    await bob.connect({ jid: 'bob@localhost', password: 'pw-bob', port: b.c2sPort, ca_file: b.tls.caCertFile });
    // bob went to b's node, not to ej's: ej does not know him.
    const stray = await slixmpp();
    const from = stray.mark();
    await stray.post({ cmd: 'connect', jid: 'bob@localhost', password: 'pw-bob', port: ej.c2sPort, ca_file: ej.tls.caCertFile });
    const e = await stray.waitForEvent((ev) => ['failed_auth', 'failed_all_auth', 'session_start', 'disconnected'].includes(ev.event), 30_000, from);
    expect(e.event).not.toBe('session_start');
    // register() reaches b's node as well (a conflict there, not on ej, proves which node answered).
    await expect(b.register('bob', 'again')).rejects.toThrow(/conflict|already registered/i);
    await ej.register('bob', 'pw-bob-on-ej');

    const family = beamFamily(b.node);
    await bob.stop();
    await b.stop();
    servers.splice(servers.indexOf(b), 1);
    expect(await psLines(b.node)).toEqual([]);
    expect(family.filter(isRunning)).toEqual([]);

    // One after another: a fresh node on fresh ports, while the first is still fine.
    const c = await startEjabberd({ users: { dave: 'pw-dave' } });
    servers.push(c);
    console.log(`[ejabberd] third instance ${c.node} listening after ${c.startupMs} ms`);
    expect(c.node).not.toBe(b.node);
    const dave = await slixmpp();
    await dave.connect({ jid: 'dave@localhost', password: 'pw-dave', port: c.c2sPort, ca_file: c.tls.caCertFile });
    const cFamily = beamFamily(c.node);
    await c.stop();
    servers.splice(servers.indexOf(c), 1);
    expect(await psLines(c.node)).toEqual([]);
    expect(cFamily.filter(isRunning)).toEqual([]);
    expect(await psLines(ej.node)).not.toEqual([]);
  }, T);
});
