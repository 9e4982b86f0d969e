// Benchmark 3 — scale: 64, 1 000, 5 000, 10 000 concurrent peer links to ONE PeerManager (its own
// process), peers simulated by a separate load process with real TLS and distinct identities. Per
// level, fresh processes: RSS of the manager's process before and after (after a GC, and after every
// link carried one message), RSS per link, handshakes/s, CPU seconds of both processes.
// Target: 10 000 links at ≤ 60 kB RSS each (issue 14: 100 000 at ≤ 20 kB).
// BENCH_SCALE_BEFORE=<dir>: each level also with the manager from that build (another commit's bench/.build,
// see README "Scale"), first, so a change is measured before and after in the same run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, CACHE, QUICK, fmt, forkWorker, machine, main, sleep, table, writeResult } from './lib/common.mjs';
import { rsaIdentities } from './lib/identities.mjs';

const LEVELS = (process.env.BENCH_SCALE_LEVELS ?? (QUICK ? '64,1000' : '64,1000,5000,10000')).split(',').map(Number);
const BEFORE = process.env.BENCH_SCALE_BEFORE;
// BENCH_SCALE_BARE=1: each level also against a bare Node TLS server (the floor: what Node's TLS costs per connection).
const BARE = process.env.BENCH_SCALE_BARE === '1';

async function level(k, idFile, build) {
  const env = build === 'bare' ? { BENCH_BARE_TLS: '1' } : build ? { BENCH_BUILD: build } : {};
  const pm = forkWorker(join(BENCH_DIR, 'lib/peer-manager-child.mjs'), [idFile], { execArgv: ['--expose-gc'], env });
  const load = forkWorker(join(BENCH_DIR, 'lib/peer-load-child.mjs'));
  await Promise.all([pm.ready, load.ready]);
  try {
    const info = await pm.request({ op: 'info' });
    const prep = await load.request({ op: 'prepare', n: k }, 120_000);
    await pm.request({ op: 'gc' });
    await sleep(300);
    const before = await pm.request({ op: 'stats' });
    const conn = await load.request({ op: 'connect', port: info.port, fingerprint: info.fingerprint, concurrency: 128 }, Math.max(170_000, k * 20)); // ~50 handshakes/s at worst on a loaded machine
    const afterUp = await pm.request({ op: 'stats' });
    await load.request({ op: 'sendAll', text: 'hello, are you there? this is one short line of chat to touch every link' });
    for (let i = 0; i < 100 && (await pm.request({ op: 'stats' })).messages < conn.ok; i++) await sleep(100);
    await pm.request({ op: 'gc' });
    await sleep(1000);
    const after = await pm.request({ op: 'stats' });
    const r = {
      build: build === 'bare' ? 'bare TLS' : build ? 'before' : 'this',
      links: k,
      distinctIdentities: prep.distinct,
      online: after.online,
      failed: conn.failed,
      retries: conn.retries,
      connectMs: conn.ms,
      handshakesPerSec: (conn.ok / conn.ms) * 1000,
      managerCpuSec: afterUp.cpu - before.cpu,
      managerCpuMsPerHandshake: ((afterUp.cpu - before.cpu) * 1000) / conn.ok,
      loadCpuSec: conn.loadCpu,
      rssBeforeMB: before.rss / 1e6,
      rssAfterMB: after.rss / 1e6,
      rssPerLinkKB: (after.rss - before.rss) / 1000 / after.online,
      heapPerLinkKB: (after.heapUsed - before.heapUsed) / 1000 / after.online,
      messages: after.messages,
    };
    console.log(`  ${k} links (${r.build}): ${fmt(r.handshakesPerSec)} handshakes/s, ${fmt(r.rssPerLinkKB, 1)} kB RSS per link (heap ${fmt(r.heapPerLinkKB, 1)} kB), online ${r.online}, failed ${r.failed}`);
    return r;
  } finally {
    await load.stop();
    await pm.stop();
  }
}

await main(async () => {
  console.log(`scale: levels ${LEVELS.join(', ')}`, machine());
  const [id] = await rsaIdentities(1);
  const idFile = join(CACHE, 'manager-identity.json');
  writeFileSync(idFile, JSON.stringify(id));
  const rows = [];
  for (const k of LEVELS) {
    if (BARE) rows.push(await level(k, idFile, 'bare'));
    if (BEFORE) rows.push(await level(k, idFile, BEFORE));
    rows.push(await level(k, idFile));
  }
  table('Links to one PeerManager (RSS of its process; peers in another process)', ['build', 'links', 'online', 'handshakes/s', 'mgr CPU ms/handshake', 'RSS before MB', 'RSS after MB', 'RSS/link kB', 'heap/link kB', 'target'], rows.map((r) => [
    r.build, r.links, r.online, fmt(r.handshakesPerSec), fmt(r.managerCpuMsPerHandshake, 2), fmt(r.rssBeforeMB, 1), fmt(r.rssAfterMB, 1), fmt(r.rssPerLinkKB, 1), fmt(r.heapPerLinkKB, 1), r.links === 10000 ? '≤ 60 kB' : '',
  ]));
  writeResult('scale', { before: BEFORE, levels: rows });
});
