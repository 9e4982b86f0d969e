// Benchmark 4 — storms: an active chat between two linked peers (a chat peer in this process and one
// PeerManager in its own process, which echoes the chat peer's messages) while 1 000 other peers (a
// separate load process, distinct identities) drop their links and reconnect all at once, and 100
// connections stall their handshakes (TCP up, no ClientHello: each holds one of the manager's
// handshake slots until its timeout). Chat: 50 msgs/s of the realistic mix; latency is the ROUND
// TRIP chat peer → manager → chat peer (so one way is about half). Target: p99 < 50 ms during the storm.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { BENCH_DIR, CACHE, QUICK, REPEATS, built, fmt, forkWorker, machine, main, median, sleep, spread, summary, table, writeResult } from './lib/common.mjs';
import { ecIdentity, rsaIdentities } from './lib/identities.mjs';
import { markersIn, messageMix } from './lib/messages.mjs';

const LOAD_NICE = Number(process.env.BENCH_LOAD_NICE ?? 10);
// BENCH_PIN=1: the manager on CPU 0, the load process and this one (the chat peer) on CPU 1 (taskset), so the
// manager's stalls are its own and not the load's 1 000 TLS closes and handshakes on the same core.
const PIN = process.env.BENCH_PIN === '1';
const pin = (pid, cpu) => execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
const bp = await built('bridge-protocol/index.js');
const PEERS = QUICK ? 300 : 1000;
const STALLED = 100;
const CHAT_EVERY_MS = 20;

async function chatPeer(port, fingerprint) {
  const raw = net.connect(port, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  const id = ecIdentity();
  const link = await bp.dialLink(raw, bp.createTlsContext(id), { expectedFingerprint: fingerprint });
  const sentAt = new Map();
  let lat = [];
  link.on('message', (m) => {
    const now = performance.now();
    for (const s of markersIn(m.text)) {
      const t = sentAt.get(s);
      if (t !== undefined) lat.push(now - t), sentAt.delete(s);
    }
  });
  link.start();
  const texts = messageMix(10_000, 99);
  let seq = 0;
  const timer = setInterval(() => {
    const i = seq++;
    sentAt.set(i, performance.now());
    void link.send(`#m${i}# ${texts[i % texts.length]}`).catch(() => {});
  }, CHAT_EVERY_MS);
  return {
    link,
    fingerprint: id.fingerprint,
    take() {
      const l = lat;
      lat = [];
      // Not answered by now: counted at the time waited so far (a lost echo must not look fast).
      const now = performance.now();
      for (const [s, t] of sentAt) if (now - t > 1000) l.push(now - t), sentAt.delete(s);
      return l;
    },
    stop() {
      clearInterval(timer);
      link.destroy();
    },
  };
}

async function once(idFile) {
  // BENCH_PROF=<dir>: the manager writes a V8 CPU profile there when it stops.
  const pm = forkWorker(join(BENCH_DIR, 'lib/peer-manager-child.mjs'), [idFile], { execArgv: process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [] });
  const load = forkWorker(join(BENCH_DIR, 'lib/peer-load-child.mjs'));
  // The 1 000 simulated peers stand for other machines: their TLS work must not take CPU from the
  // gateway and the chat on this 2-core host, so they run at a lower priority (the load itself:
  // sizes, concurrency, TLS, is unchanged). BENCH_LOAD_NICE=0 gives the contended figure.
  setPriority(load.pid, LOAD_NICE);
  if (PIN) {
    pin(pm.pid, 0);
    pin(load.pid, 1);
    pin(process.pid, 1);
  }
  await Promise.all([pm.ready, load.ready]);
  let chat;
  try {
    const info = await pm.request({ op: 'info' });
    await load.request({ op: 'prepare', n: PEERS }, 120_000);
    const first = await load.request({ op: 'connect', port: info.port, fingerprint: info.fingerprint, concurrency: 128 }, 170_000);
    chat = await chatPeer(info.port, info.fingerprint);
    await pm.request({ op: 'echo', fingerprint: chat.fingerprint });
    await sleep(1000);
    chat.take();
    await pm.request({ op: 'resetEld' });
    await sleep(QUICK ? 2000 : 4000);
    const baseline = chat.take();
    const baseEld = (await pm.request({ op: 'stats' })).eldP99Ms;

    // The storm: 100 stalled handshakes, every link dropped, then all peers redial at once.
    await pm.request({ op: 'resetEld' });
    const t0 = performance.now();
    await load.request({ op: 'stall', port: info.port, n: STALLED });
    // The drop alone: the manager's longest event-loop stall while it sees every link end (dropAll waits 200 ms).
    await pm.request({ op: 'markWindow' });
    await load.request({ op: 'dropAll' });
    const drop = await pm.request({ op: 'window' });
    const downsBefore = (await pm.request({ op: 'stats' })).downs;
    // The storm's longest stall after the drop (the relinks, and peers whose settle wait ends 5 s after the drop).
    await pm.request({ op: 'markWindow' });
    const storm = await load.request({ op: 'connect', port: info.port, fingerprint: info.fingerprint, concurrency: PEERS }, 170_000);
    const stormMs = performance.now() - t0;
    await sleep(500);
    const during = chat.take();
    const st = await pm.request({ op: 'stats' });
    const stormWindow = await pm.request({ op: 'window' });
    const r = {
      peers: PEERS,
      stalled: STALLED,
      firstConnectMs: first.ms,
      stormMs,
      reconnected: storm.ok,
      failed: storm.failed,
      retries: storm.retries,
      refusedByManager: st.rejected,
      baseline: summary(baseline),
      storm: summary(during),
      managerEventLoopP99Ms: { baseline: baseEld, storm: st.eldP99Ms },
      dropStallMs: drop.maxMs,
      // V8's part of it: the garbage collections in the same window (all, and the longest).
      dropGcMs: drop.gcMs,
      dropGcMaxMs: drop.gcMaxMs,
      stormStallMs: stormWindow.maxMs,
      // Peers reported offline during the storm: those not relinked within the settle wait (5 s) after the drop.
      downsDuringStorm: st.downs - downsBefore,
      onlineAfterDrop: drop.online,
    };
    console.log(`  baseline p99 ${fmt(r.baseline.p99, 1)} ms; storm (${fmt(stormMs)} ms, ${storm.ok} reconnected, ${storm.retries} retries) p50 ${fmt(r.storm.p50, 1)} p99 ${fmt(r.storm.p99, 1)} max ${fmt(r.storm.max, 1)} ms; drop stall ${fmt(r.dropStallMs, 1)} ms (GC ${fmt(r.dropGcMs, 1)} ms in it, longest ${fmt(r.dropGcMaxMs, 1)}; ${drop.online} online 200 ms after); storm's longest stall ${fmt(r.stormStallMs, 1)} ms, ${r.downsDuringStorm} peers reported offline`);
    return r;
  } finally {
    chat?.stop();
    await load.stop();
    await pm.stop();
  }
}

await main(async () => {
  console.log(`storms: ${REPEATS} repeats, simulated peers at nice ${LOAD_NICE}${PIN ? ', manager on CPU 0, load and chat on CPU 1' : ''}, ${PEERS} peers reconnecting, ${STALLED} stalled handshakes`, machine());
  const [id] = await rsaIdentities(1);
  const idFile = join(CACHE, 'manager-identity.json');
  writeFileSync(idFile, JSON.stringify(id));
  const runs = [];
  for (let r = 0; r < REPEATS; r++) runs.push(await once(idFile));
  table('Active chat round trip (chat peer → PeerManager → chat peer), ms', ['phase', 'p50', 'p99', 'max', 'target'], [
    ['before the storm', spread(runs.map((x) => x.baseline.p50), 1), spread(runs.map((x) => x.baseline.p99), 1), spread(runs.map((x) => x.baseline.max), 1), ''],
    [`storm: ${PEERS} reconnect at once + ${STALLED} stalled`, spread(runs.map((x) => x.storm.p50), 1), spread(runs.map((x) => x.storm.p99), 1), spread(runs.map((x) => x.storm.max), 1), 'p99 < 50'],
  ]);
  table('The storm', ['figure', 'value'], [
    ['storm duration ms (until all reconnected)', spread(runs.map((x) => x.stormMs))],
    ['reconnected / failed', `${median(runs.map((x) => x.reconnected))} / ${median(runs.map((x) => x.failed))}`],
    ['connections refused by the handshake limit (peers retried)', spread(runs.map((x) => x.refusedByManager))],
    ['manager\'s longest event-loop stall while every link drops, ms', spread(runs.map((x) => x.dropStallMs), 1)],
    ['manager\'s longest event-loop stall after the drop, until all relinked, ms', spread(runs.map((x) => x.stormStallMs), 1)],
    ['peers reported offline during the storm (not relinked within the 5 s settle wait)', spread(runs.map((x) => x.downsDuringStorm))],
    ['manager event-loop delay p99 ms, before / storm', `${spread(runs.map((x) => x.managerEventLoopP99Ms.baseline), 1)} / ${spread(runs.map((x) => x.managerEventLoopP99Ms.storm), 1)}`],
  ]);
  writeResult('storms', { runs });
});
