// End to end: two real `tlsim-gateway run` processes (A and B), each with its own XMPP client
// (A: @xmpp/client, B: slixmpp). They add each other from their share strings through the gateway
// contact, chat both ways; with B stopped, A's messages are kept (and the user told) and delivered in
// order when B is back; after kill -9 of A right after its user queued messages, a restart of both
// delivers every message exactly once, in order.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import type { StatusJson } from '../../gateway/daemon.js';
import { removeTmpDirs } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { cliHome, cliStatus, startCliGateway, type CliGateway } from './support/gateway.js';
import { xmppObserver } from './support/users.js';

const T = 240_000;

/** Every line of every message, in order. */
const linesOf = (bodies: string[]): string[] => bodies.flatMap((b) => b.split('\n'));
const GATEWAY = 'localhost';

interopSuite('e2e: two gateways, each with its own XMPP client', ['slixmpp'], () => {
  const homeA = cliHome('tlsim-e2e-a');
  const homeB = cliHome('tlsim-e2e-b');
  let portA: number;
  let portB: number;
  let gwA: CliGateway | undefined;
  let gwB: CliGateway | undefined;
  let alice: XmppJsClient | undefined;
  let bob: SlixmppClient | undefined;

  beforeAll(async () => {
    [portA, portB] = [await freePort(), await freePort()];
  });

  afterAll(async () => {
    await alice?.stop();
    await bob?.stop();
    await killAll();
    removeTmpDirs();
  });

  function connectAlice(gw: CliGateway): Promise<XmppJsClient> {
    return xmppObserver({ c2sPort: gw.status.c2sPort!, userJid: gw.status.jid, password: gw.password, caCertFile: gw.status.caCertFile }, 'alice');
  }

  async function connectBob(gw: CliGateway): Promise<SlixmppClient> {
    const c = await SlixmppClient.start({ log: 'info' });
    await c.connect({ jid: 'me@localhost', password: gw.password, host: '127.0.0.1', port: gw.status.c2sPort!, ca_file: gw.status.caCertFile });
    return c;
  }

  /** A's user types a command to its gateway contact; resolves with the answer matching `re`. */
  async function aliceCommand(text: string, re: RegExp): Promise<string> {
    const from = alice!.mark();
    await alice!.send(GATEWAY, text);
    return (await alice!.nextMessage((m) => m.from === GATEWAY && re.test(m.body), 30_000, from)).body;
  }

  async function bobCommand(text: string, re: RegExp): Promise<string> {
    const from = bob!.mark();
    await bob!.send(GATEWAY, text);
    return (await bob!.nextMessage((m) => m.from === GATEWAY && re.test(m.body), 30_000, from)).body;
  }

  /** Bodies B's client got from A's JID, in order, over every session of the test. */
  const bobGot: string[] = [];
  let bobSeen = 0;
  const collectBob = (jidA: string): void => {
    if (!bob) return;
    for (; bobSeen < bob.events.length; bobSeen++) {
      const e = bob.events[bobSeen]!;
      if (e.event === 'message' && e.from.split('/')[0] === jidA && e.type !== 'error') bobGot.push(e.body);
    }
  };
  async function bobReceives(jidA: string, body: string): Promise<void> {
    await bob!.nextMessage((m) => m.from.split('/')[0] === jidA && m.body === body, 60_000, bobSeen);
    collectBob(jidA);
  }
  /** Like bobReceives, for a line that may share its message with the lines queued before it. */
  async function bobReceivesLine(jidA: string, line: string): Promise<void> {
    await bob!.nextMessage((m) => m.from.split('/')[0] === jidA && m.body.split('\n').includes(line), 60_000, bobSeen);
    collectBob(jidA);
  }
  async function newBobSession(gw: CliGateway, jidA: string): Promise<void> {
    if (bob) {
      collectBob(jidA);
      await bob.stop();
    }
    bob = await connectBob(gw);
    bobSeen = 0;
  }

  const presenceFrom = (c: XmppJsClient, jid: string, available: boolean, from: number) =>
    c.waitFor((s) => s.is('presence') && (s.attrs.from ?? '').split('/')[0] === jid && (available ? !s.attrs.type : s.attrs.type === 'unavailable'), 60_000, from);

  it('add each other, chat, queue while B is down, and survive kill -9 of A with every message delivered once, in order', async (ctx) => {
    ctx.onTestFailed(() => {
      console.error(`--- A (tail) ---${gwA?.proc.tails(4_000)}\n--- B (tail) ---${gwB?.proc.tails(4_000)}`);
      if (alice) console.error(`--- A's client ---\n${alice.recent(30)}`);
      if (bob) console.error(`--- B's client ---\n${bob.recent(30)}`);
    });
    [gwA, gwB] = await Promise.all([startCliGateway(homeA, portA), startCliGateway(homeB, portB)]);
    const a: StatusJson = gwA.status;
    const b: StatusJson = gwB.status;
    expect(a.share, JSON.stringify(a)).toBe(`tlsim://${a.fingerprint}@127.0.0.1:${portA}`);
    expect(b.share, JSON.stringify(b)).toBe(`tlsim://${b.fingerprint}@127.0.0.1:${portB}`);
    const jidA = `${a.fingerprint}@${a.peerDomain}`;
    const jidB = `${b.fingerprint}@${b.peerDomain}`;
    [alice, bob] = await Promise.all([connectAlice(gwA), connectBob(gwB)]);

    // Each user gets the other's share string from the gateway contact and adds it.
    const shareB = (await bobCommand('share', /^tlsim:\/\//)).trim();
    expect(shareB, JSON.stringify(b)).toBe(b.share);
    expect(await aliceCommand('status', /^Fingerprint:/)).toContain(`Share: ${a.share}`);
    let from = alice.mark();
    expect(await bobCommand(`add ${a.share} Alice`, /^Added /)).toContain(`Chat with ${jidA}`);
    expect(await aliceCommand(`add ${shareB} Bob`, /^Added /)).toContain(`Chat with ${jidB}`);
    await presenceFrom(alice, jidB, true, from);

    // Chat both ways.
    await alice.send(jidB, 'hello Bob, from A');
    await bobReceives(jidA, 'hello Bob, from A');
    from = alice.mark();
    await bob.send(jidA, 'hello Alice, from B');
    expect((await alice.nextMessage((m) => m.from.split('/')[0] === jidB, 30_000, from)).body).toBe('hello Alice, from B');

    // B stops: A's user is told its messages are queued; they arrive in order when B is back.
    from = alice.mark();
    collectBob(jidA);
    await bob.stop();
    bob = undefined;
    gwB.proc.signal('SIGTERM');
    expect((await gwB.proc.exited).code).toBe(0);
    await presenceFrom(alice, jidB, false, from);
    from = alice.mark();
    for (const n of [1, 2, 3]) await alice.send(jidB, `queued ${n}`);
    const told = await alice.nextMessage((m) => m.from === GATEWAY && /Not sent yet/.test(m.body), 30_000, from);
    expect(told.body).toMatch(/Bob is offline; your messages are kept and go out in order/);
    await expect.poll(async () => (await cliStatus(homeA)).queued, { timeout: 60_000, interval: 200 }).toBe(3);

    from = alice.mark();
    gwB = await startCliGateway(homeB, portB);
    await presenceFrom(alice, jidB, true, from);
    await newBobSession(gwB, jidA);
    await bobReceivesLine(jidA, 'queued 3');
    expect(linesOf(bobGot)).toEqual(['hello Bob, from A', 'queued 1', 'queued 2', 'queued 3']);
    expect(bobGot, 'each queued message is its own message (none run together)').toHaveLength(4);

    // B down again; A's user queues, and A is killed -9 right after the queue is on disk.
    from = alice.mark();
    collectBob(jidA);
    await bob!.stop();
    bob = undefined;
    gwB.proc.signal('SIGTERM');
    await gwB.proc.exited;
    await presenceFrom(alice, jidB, false, from);
    from = alice.mark();
    for (const n of [1, 2, 3]) await alice.send(jidB, `before the crash ${n}`);
    await alice.nextMessage((m) => m.from === GATEWAY && /Not sent yet/.test(m.body), 30_000, from);
    await expect.poll(async () => (await cliStatus(homeA)).queued, { timeout: 60_000, interval: 200 }).toBe(3);
    await alice.stop();
    alice = undefined;
    gwA.proc.signal('SIGKILL');
    expect((await gwA.proc.exited).signal).toBe('SIGKILL');

    // Both come back (and dial each other at once): each queued message arrives once, in order.
    [gwA, gwB] = await Promise.all([startCliGateway(homeA, portA), startCliGateway(homeB, portB)]);
    expect(gwA.status.fingerprint).toBe(a.fingerprint);
    await newBobSession(gwB, jidA);
    alice = await connectAlice(gwA);
    await bobReceivesLine(jidA, 'before the crash 3');
    // A last message after the queue: anything repeated would have come before it.
    await alice.send(jidB, 'the end');
    await bobReceives(jidA, 'the end');
    // Lines first (content, order, no repeats), then that no two messages ran together.
    expect(linesOf(bobGot)).toEqual([
      'hello Bob, from A',
      'queued 1',
      'queued 2',
      'queued 3',
      'before the crash 1',
      'before the crash 2',
      'before the crash 3',
      'the end',
    ]);
    expect(bobGot, 'each queued message is its own message (none run together)').toHaveLength(8);
    expect((await cliStatus(homeA)).queued).toBe(0);
  }, T);
});
