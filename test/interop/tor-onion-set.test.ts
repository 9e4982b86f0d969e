// TorService's onion services added and withdrawn on a real tor we launch (DisableNetwork kept 1: never any network):
// ADD_ONION / DEL_ONION seen in onions/current, and the remembered set back after tor is killed (control-spec §3.27, §3.38).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generateOnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { TorService, type TorExitInfo } from '../../bridge-protocol/tor/service.js';
import { isAlive, waitUntil } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

interopSuite('tor: a dynamic set of onion services (offline)', ['tor'], () => {
  let dir = '';
  let svc: TorService | undefined;

  afterAll(async () => {
    await svc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const current = async (): Promise<string[]> => (await svc!.control!.getInfoOne('onions/current')).split('\n').filter(Boolean).sort();

  it('publish/unpublish on a running tor, and after kill -9 the relaunched tor gets exactly the remembered ones back', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsim-toronions-'));
    const [a, b, c] = [generateOnionKey(), generateOnionKey(), generateOnionKey()];
    svc = new TorService({ mode: 'launch', launch: { dataDir: join(dir, 'tor') }, network: false, restart: { initialMs: 200, maxMs: 1_000 } });
    const exits: TorExitInfo[] = [];
    svc.on('exited', (e: TorExitInfo) => exits.push(e));
    await svc.publish({ key: a, target: '127.0.0.1:1001' });
    await svc.start();
    expect(svc.status()).toMatchObject({ mode: 'launch', state: 'bootstrapping' });
    expect(svc.status().onion).toBeUndefined();
    expect(await current()).toEqual([a.serviceId]);

    await svc.publish({ key: b, target: '127.0.0.1:1002', virtualPort: 4242 });
    await svc.publish({ key: c, target: '127.0.0.1:1003' });
    expect(await current()).toEqual([a.serviceId, b.serviceId, c.serviceId].sort());
    await svc.unpublish(a.serviceId);
    expect(await current()).toEqual([b.serviceId, c.serviceId].sort());

    const firstPid = svc.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => exits.length === 1, 20_000);
    // Withdrawn while tor is away: not re-added.
    await svc.unpublish(c.serviceId);
    await waitUntil(() => svc!.status().state === 'bootstrapping' && svc!.pid !== undefined && svc!.pid !== firstPid, 60_000);
    expect(await current()).toEqual([b.serviceId]);
    expect(svc.onionServiceIds()).toEqual([b.serviceId]);

    const pid = svc.pid!;
    await svc.stop();
    expect(isAlive(pid)).toBe(false);
  }, 90_000);
});
