// Several local accounts with Tor (our own tor, kept offline: DisableNetwork 1): every account has an
// onion of its own on the gateway's one tor, in its share string from the start; an account added while
// the gateway runs gets its onion published at once, a removed one has it withdrawn, and a restart
// publishes every account's onion again.
import { afterAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseConfigText } from '../../gateway/config.js';
import { startGateway, type RunningGateway } from '../../gateway/daemon.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';

const CONFIG = parseConfigText('[c2s]\nport = 0\n[peer]\nport = 0\n[websocket]\nenabled = false\n[tor]\nmode = "launch"\nvirtual_port = 4242\n');
const T = 120_000;

afterAll(() => removeTmpDirs());

/** Polls an async condition (tor's control port answers in its own time). */
async function eventually(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function currentOnions(gw: RunningGateway): Promise<string[]> {
  return (await gw.tor!.service.control!.getInfoOne('onions/current')).split('\n').filter(Boolean).sort();
}

interopSuite('local accounts on the gateway\'s own tor (kept offline)', ['tor'], () => {
  it('each account has its own onion, published while it is an account of the running gateway', async () => {
    const dataDir = tmpDir('tor-accounts');
    const start = () => startGateway({ config: CONFIG, dataDir, log: pino({ level: 'silent' }), tor: { network: false } });
    let gw = await start();
    try {
      const bob = await gw.accounts.add('bob');
      const me = gw.status();
      const onionOf = (share: string | null) => /@([a-z2-7]{56})\.onion:4242$/.exec(share ?? '')?.[1];
      const [meOnion, bobOnion] = [onionOf(me.share), onionOf(bob.share)];
      expect(meOnion).toBeDefined();
      expect(bobOnion).toBeDefined();
      expect(bobOnion).not.toBe(meOnion);
      expect(bob.share).toBe(`tlsim://${bob.fingerprint}@${bobOnion}.onion:4242`);
      await eventually(async () => (await currentOnions(gw)).length === 2, 30_000);
      expect(await currentOnions(gw)).toEqual([meOnion, bobOnion].sort());

      const carol = await gw.accounts.add('carol');
      const carolOnion = onionOf(carol.share)!;
      await eventually(async () => (await currentOnions(gw)).includes(carolOnion), 30_000);
      await gw.accounts.remove('carol');
      expect(await currentOnions(gw)).toEqual([meOnion, bobOnion].sort());

      // A restart publishes the accounts' onions again, the same ones.
      await gw.stop();
      gw = await start();
      await eventually(async () => (await currentOnions(gw)).length === 2, 30_000);
      expect(await currentOnions(gw)).toEqual([meOnion, bobOnion].sort());
      const listed = await gw.accounts.list();
      expect(listed.map((a) => onionOf(a.share))).toEqual([meOnion, bobOnion]);
    } finally {
      await gw.stop();
    }
  }, T);
});
