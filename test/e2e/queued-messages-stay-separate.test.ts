// Messages queued for a gateway peer while it was down reach its user as the same separate messages
// when the queue is flushed, not run together into multi-line ones (a flush writes a batch at once;
// each message must stay its own TLS record, since a plain line decoder shows one read as one
// message). Two whole gateways in process, an @xmpp/client session on each.
import { afterAll, describe, expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { removeTmpDirs } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { xmppObserver } from './support/users.js';

const T = 120_000;
const GATEWAY = 'localhost';
const QUEUED = 25;

async function command(c: XmppJsClient, text: string, re: RegExp): Promise<string> {
  const from = c.mark();
  await c.send(GATEWAY, text);
  return (await c.nextMessage((m) => m.from === GATEWAY && re.test(m.body), 30_000, from)).body;
}

describe('e2e: a flushed queue between two gateways', () => {
  const gateways: E2eGateway[] = [];
  const clients: XmppJsClient[] = [];

  afterAll(async () => {
    for (const c of clients) await c.stop();
    for (const g of gateways) await g.stop().catch(() => {});
    await killAll();
    removeTmpDirs();
  });

  it(`keeps ${QUEUED} messages queued while the peer gateway was down as ${QUEUED} messages`, async (ctx) => {
    const a = await startInProcessGateway();
    const portB = await freePort();
    let b = await startInProcessGateway({ peerPort: portB });
    gateways.push(a, b);
    ctx.onTestFailed(() => console.error(`--- A log ---\n${a.log.tail()}\n--- B log ---\n${b.log.tail()}`));
    const alice = await xmppObserver(a, 'alice');
    let bob = await xmppObserver(b, 'bob');
    clients.push(alice, bob);
    const jidA = a.jidOf(a.fingerprint);
    const jidB = b.jidOf(b.fingerprint);

    await command(bob, `add ${a.share} Alice`, /^Added /);
    let from = alice.mark();
    await command(alice, `add ${b.share} Bob`, /^Added /);
    await alice.waitFor((s) => s.is('presence') && (s.attrs.from ?? '').startsWith(`${jidB}/`) && !s.attrs.type, 30_000, from);

    // B goes away; A's user writes QUEUED messages, all kept on disk.
    from = alice.mark();
    await bob.stop();
    await b.stop();
    await alice.waitFor((s) => s.is('presence') && (s.attrs.from ?? '').startsWith(`${jidB}/`) && s.attrs.type === 'unavailable', 30_000, from);
    const sent = Array.from({ length: QUEUED }, (_, i) => `queued message ${i + 1}`);
    for (const text of sent) await alice.send(jidB, text);
    await expect.poll(() => a.running.status().queued, { timeout: 30_000 }).toBe(QUEUED);

    // B is back; its user logs in and gets what was queued.
    b = await startInProcessGateway({ peerPort: portB, dataDir: b.dataDir });
    gateways.push(b);
    bob = await xmppObserver(b, 'bob');
    clients.push(bob);
    const last = sent.at(-1)!;
    await bob.nextMessage((m) => m.from.startsWith(`${jidA}/`) && m.body.split('\n').includes(last), 60_000);
    const got = bob.stanzas
      .filter((s) => s.is('message') && (s.attrs.from ?? '').startsWith(`${jidA}/`) && s.getChild('body'))
      .map((s) => s.getChildText('body') ?? '');
    // Content and order hold either way; the count is the bug.
    expect(got.flatMap((t) => t.split('\n'))).toEqual(sent);
    expect(
      got,
      `${QUEUED} messages queued for a gateway peer arrived as ${got.length} messages: some were written into one TLS record ` +
        'and the receiving line decoder shows one read as one message',
    ).toEqual(sent);
  }, T);
});
