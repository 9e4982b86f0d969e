// c2s.max_connections: how many XMPP client connections a gateway keeps open at once (default 256, the
// flood cap of the bad-input catalogue). Past it a new connection is closed unanswered; a freed place is
// taken again. bench/held.mjs raises it to hold 1 000 sessions on one gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../gateway/config.js';
import { removeTmpDirs } from '../support/identities.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { rawXmpp, type RawConnection } from './support/raw-clients.js';

const T = 60_000;

async function features(c: RawConnection): Promise<void> {
  await expect.poll(() => c.received(), { timeout: 10_000 }).toContain('</stream:features>');
}

describe('c2s.max_connections', () => {
  let gw: E2eGateway;

  beforeAll(async () => {
    gw = await startInProcessGateway({ c2sConfig: 'max_connections = 3\n' });
  }, T);

  afterAll(async () => {
    await gw?.stop();
    removeTmpDirs();
  });

  it('is 256 unless set, and must be a positive integer', () => {
    expect(parseConfigText('').c2s.max_connections).toBe(256);
    expect(parseConfigText('[c2s]\nmax_connections = 1500').c2s.max_connections).toBe(1500);
    expect(() => parseConfigText('[c2s]\nmax_connections = 0')).toThrow(/c2s\.max_connections.*must be an integer/);
  });

  it('keeps that many connections, closes the next one unanswered, and takes a new one when a place is free', async () => {
    const held = [await rawXmpp(gw.c2sPort), await rawXmpp(gw.c2sPort), await rawXmpp(gw.c2sPort)];
    try {
      for (const c of held) await features(c);
      const over = await rawXmpp(gw.c2sPort).catch(() => undefined);
      if (over) {
        const closed = await Promise.race([over.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
        expect(closed).toBe(true);
        expect(over.received()).toBe('');
      }
      held.shift()!.socket.destroy();
      // The gateway notices the close a moment later: retry until the place is free.
      await expect
        .poll(
          async () => {
            const c = await rawXmpp(gw.c2sPort);
            held.push(c);
            await Promise.race([c.closed, new Promise((r) => setTimeout(r, 1000))]);
            return c.received().includes('</stream:features>');
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe(true);
    } finally {
      for (const c of held) c.socket.destroy();
    }
  }, T);
});
