// Benchmark 8 — load held (issue 16 §4): ONE gateway (its own process) with 1 000 XMPP client sessions
// (the lean raw-socket client, STARTTLS + SASL PLAIN, spread over local accounts × resources) and 1 000
// simulated tlsim peers (a separate load process, distinct identities, half gateway-extension peers with
// acks, half reference-style line peers), chatting both ways at a steady, bounded rate for a long time
// (default 10 min; BENCH_QUICK=1: 1 min). Every 10 s: the gateway's RSS, heap, open fds, event-loop
// delay, and end-to-end latency and delivered vs sent both ways. Compared with the same gateway in the
// same run: fresh (accounts made, nothing connected), connected and idle, and after everything closed
// again (no fd leak: back to the fresh count). A message from a peer goes to the account's bare JID, so
// every session of that account gets it (RFC 6121 §8.5.2.1, equal priorities): it counts once per session.
// BENCH_HELD_SECONDS, BENCH_HELD_RATE (msgs/s each way), BENCH_HELD_SESSIONS, BENCH_HELD_PEERS, BENCH_HELD_ACCOUNTS.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, QUICK, fdsOf, fmt, forkWorker, machine, main, onCleanup, percentile, rssOf, sharedNow, sleep, table, writeResult } from './lib/common.mjs';
import { startGateway } from './lib/gateways.mjs';
import { messageMix } from './lib/messages.mjs';
import { XmppLoadClient } from './lib/xmpp-load.mjs';

const env = process.env;
const SESSIONS = Number(env.BENCH_HELD_SESSIONS ?? 1000);
const PEERS = Number(env.BENCH_HELD_PEERS ?? 1000);
const ACCOUNTS = Number(env.BENCH_HELD_ACCOUNTS ?? 100);
const SECONDS = Number(env.BENCH_HELD_SECONDS ?? (QUICK ? 60 : 600));
const RATE = Number(env.BENCH_HELD_RATE ?? 50);
const IDLE_S = QUICK ? 20 : 60;
const SAMPLE_MS = 10_000;
const PEER_SEQ = 1e9; // markers of peers' messages start here, the sessions' at 1
const perAccount = { sessions: SESSIONS / ACCOUNTS, peers: PEERS / ACCOUNTS };
if (!Number.isInteger(perAccount.sessions) || !Number.isInteger(perAccount.peers)) throw new Error('sessions and peers must divide evenly over the accounts');

const MB = 1e6;
const pct = (xs, p) => percentile([...xs].sort((a, b) => a - b), p);
/** Largest value (Math.max(...xs) overflows the stack past ~100 000 values). */
const maxOf = (xs) => xs.reduce((m, x) => (x > m ? x : m), -Infinity);

/** Latencies both ways: per 10 s window, per minute of the load (by send time), and all. */
function latencies() {
  const dir = () => ({ window: [], perMinute: [], all: [] });
  return {
    out: dir(), // XMPP session → peer
    in: dir(), // peer → every session of its account
    add(d, sentAt, at, t0) {
      const ms = at - sentAt;
      const m = Math.max(0, Math.floor((sentAt - t0) / 60_000));
      (this[d].perMinute[m] ??= []).push(ms);
      this[d].window.push(ms);
      this[d].all.push(ms);
    },
    takeWindow(d) {
      const w = this[d].window;
      this[d].window = [];
      return { n: w.length, p50: pct(w, 50), p99: pct(w, 99) };
    },
  };
}

await main(async () => {
  console.log(`held: ${SESSIONS} XMPP sessions (${ACCOUNTS} accounts × ${perAccount.sessions} resources), ${PEERS} peers, ${RATE} msgs/s each way, ${SECONDS} s`, machine());
  const gw = await startGateway('held', { execArgv: ['--expose-gc'], env: { BENCH_GATEWAY_MAX_C2S: String(SESSIONS + 100) } });
  const load = forkWorker(join(BENCH_DIR, 'lib/peer-load-child.mjs'));
  await load.ready;

  const samples = [];
  let loadT0 = NaN;
  const clients = [];
  const sample = async (phase, extra = {}) => {
    const f = await gw.worker.request({ op: 'figures' });
    const s = {
      phase,
      t: Number.isFinite(loadT0) ? (sharedNow() - loadT0) / 1000 : 0,
      rssMB: rssOf(gw.pid) / MB,
      heapMB: f.heapUsed / MB,
      externalMB: f.external / MB,
      fds: fdsOf(gw.pid),
      eldP50Ms: f.eldP50Ms,
      eldP99Ms: f.eldP99Ms,
      eldMaxMs: f.eldMaxMs,
      sessions: f.sessions,
      peerLinks: await load.request({ op: 'count' }),
      load1: loadavg()[0],
      ...extra,
    };
    samples.push(s);
    return s;
  };
  const settled = async (phase) => {
    await gw.worker.request({ op: 'gc' });
    await sleep(1000);
    const s = await sample(phase);
    console.log(`  ${phase}: RSS ${fmt(s.rssMB, 1)} MB, heap ${fmt(s.heapMB, 1)} MB, ${s.fds} fds, ${s.sessions} sessions, ${s.peerLinks} peer links`);
    return s;
  };

  // Accounts: the default one and ACCOUNTS - 1 added ones, each with its own identity and peer listener.
  let t = performance.now();
  const accounts = [{ jid: `${gw.user}@${gw.domain}`, user: gw.user, password: gw.password, fingerprint: gw.fingerprint, peerPort: gw.peerPort }];
  for (let a = 1; a < ACCOUNTS; a++) accounts.push(await gw.worker.request({ op: 'addAccount', name: `held${a}` }, 120_000));
  console.log(`  ${ACCOUNTS} accounts in ${fmt((performance.now() - t) / 1000, 1)} s`);

  // Peers: identities, contacts of their account, links (half gateway-extension, half reference-style).
  await load.request({ op: 'prepare', n: PEERS }, 300_000);
  const fps = await load.request({ op: 'fingerprints' });
  for (let a = 0; a < ACCOUNTS; a++) {
    await gw.worker.request({ op: 'addContacts', account: a === 0 ? undefined : accounts[a].jid, fingerprints: fps.slice(a * perAccount.peers, (a + 1) * perAccount.peers) });
  }
  // The baseline: every account and contact there, nothing connected (what "after close" returns to).
  const fresh = await settled('fresh');
  t = performance.now();
  let failed = 0;
  const half = Math.ceil(perAccount.peers / 2);
  for (let a0 = 0; a0 < ACCOUNTS; a0 += 8) {
    const batch = [];
    for (let a = a0; a < Math.min(ACCOUNTS, a0 + 8); a++) {
      const base = a * perAccount.peers;
      const to = { port: accounts[a].peerPort, fingerprint: accounts[a].fingerprint, concurrency: 4 };
      batch.push(load.request({ op: 'connect', ...to, from: base, to: base + half }, 300_000));
      batch.push(load.request({ op: 'connect', ...to, from: base + half, to: base + perAccount.peers, reference: true }, 300_000));
    }
    for (const r of await Promise.all(batch)) failed += r.failed;
  }
  for (let a = 0, tries = 0; a < ACCOUNTS; ) {
    const n = await gw.worker.request({ op: 'onlineCount', account: a === 0 ? undefined : accounts[a].jid });
    if (n >= perAccount.peers) a++;
    else if (++tries > 300) throw new Error(`account ${accounts[a].jid}: ${n} of ${perAccount.peers} peers online`);
    else await sleep(100);
  }
  console.log(`  ${PEERS} peer links up in ${fmt((performance.now() - t) / 1000, 1)} s (${failed} failed)`);

  // Sessions: resource r<k> of account a; session j writes to peer k of its account.
  t = performance.now();
  const accountOfSession = (j) => Math.floor(j / perAccount.sessions);
  for (let j0 = 0; j0 < SESSIONS; j0 += 16) {
    const batch = [];
    for (let j = j0; j < Math.min(SESSIONS, j0 + 16); j++) {
      const a = accounts[accountOfSession(j)];
      batch.push(XmppLoadClient.login({ port: gw.c2sPort, domain: gw.domain, user: a.user, password: a.password, resource: `r${j % perAccount.sessions}`, timeoutMs: 60_000 }));
    }
    clients.push(...(await Promise.all(batch)));
  }
  onCleanup(() => clients.forEach((c) => c.close()));
  console.log(`  ${SESSIONS} XMPP sessions logged in in ${fmt((performance.now() - t) / 1000, 1)} s`);

  // Connected and idle.
  await settled('connected');
  for (let i = 0; i < IDLE_S / 10; i++) {
    await sleep(SAMPLE_MS);
    await sample('idle');
  }
  const idle = samples.filter((s) => s.phase === 'idle');
  console.log(`  idle: RSS ${fmt(idle.at(-1).rssMB, 1)} MB, ${idle.at(-1).fds} fds, loop delay p99 ${fmt(Math.max(...idle.map((s) => s.eldP99Ms)), 1)} ms`);

  // The load.
  const lat = latencies();
  const outSent = new Map(); // seq → sent at
  const inSent = new Map(); // seq → { t, got }
  const arrivals = new Map(); // peers' seq → arrival times at sessions (until the send is reported)
  const totals = { outSent: 0, outDelivered: 0, outDup: 0, inSent: 0, inDeliveries: 0, inDup: 0, peerSendFailed: 0 };
  for (const c of clients) {
    c.onMarker = (seq, now) => {
      const at = performance.timeOrigin + now;
      const list = arrivals.get(seq);
      if (list) list.push(at);
      else arrivals.set(seq, [at]);
    };
  }
  const merge = async () => {
    const r = await load.request({ op: 'take' });
    totals.peerSendFailed = r.failed;
    for (let i = 0; i < r.sent.length; i += 3) inSent.set(r.sent[i], { t: r.sent[i + 1], got: 0 }), totals.inSent++;
    for (let i = 0; i < r.recv.length; i += 2) {
      const sentAt = outSent.get(r.recv[i]);
      if (sentAt === undefined) continue;
      if (sentAt < 0) {
        totals.outDup++;
        continue;
      }
      lat.add('out', sentAt, r.recv[i + 1], loadT0);
      outSent.set(r.recv[i], -1);
      totals.outDelivered++;
    }
    for (const [seq, times] of arrivals) {
      const s = inSent.get(seq);
      if (!s) continue;
      for (const at of times) lat.add('in', s.t, at, loadT0);
      s.got += times.length;
      totals.inDeliveries += times.length;
      if (s.got > perAccount.sessions) totals.inDup += s.got - perAccount.sessions;
      arrivals.delete(seq);
    }
  };
  const texts = messageMix(5000, 11);
  const intervalMs = (SESSIONS / RATE) * 1000;
  const due = Float64Array.from(clients, (_, j) => sharedNow() + (j * intervalMs) / SESSIONS);
  let seq = 1;
  loadT0 = sharedNow();
  await load.request({ op: 'chat', intervalMs: (PEERS / RATE) * 1000, seqBase: PEER_SEQ });
  const ticker = setInterval(() => {
    const now = sharedNow();
    for (let j = 0; j < clients.length; j++) {
      if (due[j] > now || clients[j].socket.destroyed) continue;
      due[j] += intervalMs;
      const a = accountOfSession(j);
      const peer = fps[a * perAccount.peers + (j % perAccount.sessions) % perAccount.peers];
      const s = seq++;
      outSent.set(s, sharedNow());
      totals.outSent++;
      clients[j].send(`${peer}@${gw.peerDomain}`, `#m${s}# ${texts[s % texts.length]}`);
    }
  }, 20);
  onCleanup(() => clearInterval(ticker));
  while (sharedNow() - loadT0 < SECONDS * 1000) {
    await sleep(Math.min(SAMPLE_MS, loadT0 + SECONDS * 1000 - sharedNow() + 1));
    await merge();
    const o = lat.takeWindow('out');
    const i = lat.takeWindow('in');
    const s = await sample('load', { out: o, in: i, totals: { ...totals } });
    console.log(
      `  t=${fmt(s.t)} s RSS ${fmt(s.rssMB, 1)} MB heap ${fmt(s.heapMB, 1)} MB ${s.fds} fds loop p99 ${fmt(s.eldP99Ms, 1)} ms | ` +
        `out p50/p99 ${fmt(o.p50, 1)}/${fmt(o.p99, 1)} ms in ${fmt(i.p50, 1)}/${fmt(i.p99, 1)} ms | sent ${totals.outSent}+${totals.inSent}, load ${fmt(s.load1, 1)}`,
    );
  }
  clearInterval(ticker);
  await load.request({ op: 'stopChat' });
  const loadSeconds = (sharedNow() - loadT0) / 1000;
  // What is still on its way arrives (or is lost): up to 30 s.
  for (let w = 0; w < 60; w++) {
    await sleep(500);
    await merge();
    const outMissing = totals.outSent - totals.outDelivered;
    const inMissing = totals.inSent * perAccount.sessions - totals.inDeliveries;
    if (outMissing === 0 && inMissing === 0) break;
  }
  const closedSessions = clients.filter((c) => c.socket.destroyed).length;
  const afterLoad = await settled('after load');

  // Everything closes: the sessions end their streams, the peers close their links.
  t = performance.now();
  for (const c of clients) c.close();
  await load.request({ op: 'closeAll' }, 60_000);
  let closed;
  for (let w = 0; w < 60; w++) {
    await sleep(500);
    closed = await gw.worker.request({ op: 'figures' });
    if (closed.sessions === 0 && fdsOf(gw.pid) <= fresh.fds) break;
  }
  await sleep(2000);
  const afterClose = await settled('after close');

  // Figures.
  const loadSamples = samples.filter((s) => s.phase === 'load');
  const third = Math.max(1, Math.floor(loadSamples.length / 3));
  const first = loadSamples.slice(0, third);
  const last = loadSamples.slice(-third);
  const mean = (xs, k) => xs.reduce((a, s) => a + s[k], 0) / xs.length;
  const minutes = (mean(last, 't') - mean(first, 't')) / 60;
  const slope = (k) => (minutes > 0 ? (mean(last, k) - mean(first, k)) / minutes : NaN);
  // The heap sampled at random points of its GC sawtooth: its lowest value in each third is near what is live.
  const floor = (xs) => Math.min(...xs.map((s) => s.heapMB));
  const heapFloorSlope = minutes > 0 ? (floor(last) - floor(first)) / minutes : NaN;
  const perMinute = (d) => lat[d].perMinute.map((xs, m) => ({ minute: m + 1, n: xs?.length ?? 0, p50: pct(xs ?? [], 50), p99: pct(xs ?? [], 99) }));
  const result = {
    config: { sessions: SESSIONS, peers: PEERS, accounts: ACCOUNTS, resourcesPerAccount: perAccount.sessions, peersPerAccount: perAccount.peers, ratePerDirection: RATE, seconds: SECONDS, loadSeconds, referencePeers: ACCOUNTS * (perAccount.peers - half), gatewayPeers: ACCOUNTS * half },
    totals: { ...totals, inExpected: totals.inSent * perAccount.sessions, outLost: totals.outSent - totals.outDelivered, inLost: totals.inSent * perAccount.sessions - totals.inDeliveries, closedSessions },
    memory: {
      rssSlopeMBPerMin: slope('rssMB'),
      heapSlopeMBPerMin: slope('heapMB'),
      heapFloorSlopeMBPerMin: heapFloorSlope,
      heapFloorFirstThirdMB: floor(first),
      heapFloorLastThirdMB: floor(last),
      rssFirstThirdMB: mean(first, 'rssMB'),
      rssLastThirdMB: mean(last, 'rssMB'),
      heapFirstThirdMB: mean(first, 'heapMB'),
      heapLastThirdMB: mean(last, 'heapMB'),
    },
    fds: { fresh: fresh.fds, connected: samples.find((s) => s.phase === 'connected').fds, loadStart: loadSamples[0]?.fds, loadEnd: loadSamples.at(-1)?.fds, afterClose: afterClose.fds },
    latency: {
      out: { ...Object.fromEntries(['p50', 'p99'].map((p) => [p, pct(lat.out.all, Number(p.slice(1)))])), max: maxOf(lat.out.all), perMinute: perMinute('out') },
      in: { ...Object.fromEntries(['p50', 'p99'].map((p) => [p, pct(lat.in.all, Number(p.slice(1)))])), max: maxOf(lat.in.all), perMinute: perMinute('in') },
    },
    eventLoop: { idleP99Ms: Math.max(...idle.map((s) => s.eldP99Ms)), loadP99MsMedian: pct(loadSamples.map((s) => s.eldP99Ms), 50), loadP99MsMax: Math.max(...loadSamples.map((s) => s.eldP99Ms)) },
    loadAverage: { min: Math.min(...samples.map((s) => s.load1)), max: Math.max(...samples.map((s) => s.load1)) },
    phases: { fresh, afterLoad, afterClose },
    samples,
  };

  table('The same gateway: fresh, connected and idle, under load, after load, after everything closed (after a GC except under load)', ['phase', 'RSS MB', 'heap MB', 'fds', 'sessions', 'peer links', 'loop delay p99 ms'], [
    ['fresh (accounts and contacts, nothing connected)', fmt(fresh.rssMB, 1), fmt(fresh.heapMB, 1), fresh.fds, fresh.sessions, fresh.peerLinks, fmt(fresh.eldP99Ms, 1)],
    ['connected, idle (last sample)', fmt(idle.at(-1).rssMB, 1), fmt(idle.at(-1).heapMB, 1), idle.at(-1).fds, idle.at(-1).sessions, idle.at(-1).peerLinks, fmt(result.eventLoop.idleP99Ms, 1)],
    ['load, first third (mean)', fmt(result.memory.rssFirstThirdMB, 1), fmt(result.memory.heapFirstThirdMB, 1), loadSamples[0].fds, loadSamples[0].sessions, loadSamples[0].peerLinks, fmt(result.eventLoop.loadP99MsMedian, 1)],
    ['load, last third (mean)', fmt(result.memory.rssLastThirdMB, 1), fmt(result.memory.heapLastThirdMB, 1), loadSamples.at(-1).fds, loadSamples.at(-1).sessions, loadSamples.at(-1).peerLinks, fmt(result.eventLoop.loadP99MsMax, 1) + ' (max)'],
    ['after load', fmt(afterLoad.rssMB, 1), fmt(afterLoad.heapMB, 1), afterLoad.fds, afterLoad.sessions, afterLoad.peerLinks, ''],
    ['after everything closed', fmt(afterClose.rssMB, 1), fmt(afterClose.heapMB, 1), afterClose.fds, afterClose.sessions, afterClose.peerLinks, ''],
  ]);
  table('Latency end to end per minute of the load (by send time), ms', ['minute', 'session → peer n', 'p50', 'p99', 'peer → sessions n', 'p50', 'p99'], result.latency.out.perMinute.map((o, m) => {
    const i = result.latency.in.perMinute[m] ?? {};
    return [o.minute, o.n, fmt(o.p50, 1), fmt(o.p99, 1), i.n ?? 0, fmt(i.p50, 1), fmt(i.p99, 1)];
  }));
  table('Held', ['figure', 'value'], [
    ['RSS slope, last third vs first third of the load', `${fmt(result.memory.rssSlopeMBPerMin, 2)} MB/min`],
    ['heap slope, same (mean; lowest sample of each third)', `${fmt(result.memory.heapSlopeMBPerMin, 2)}; ${fmt(heapFloorSlope, 2)} MB/min (${fmt(floor(first), 1)} → ${fmt(floor(last), 1)} MB)`],
    ['heap after close − fresh (after a GC each)', `${fmt(afterClose.heapMB - fresh.heapMB, 1)} MB`],
    ['fds fresh / connected / load start / load end / after close', `${result.fds.fresh} / ${result.fds.connected} / ${result.fds.loadStart} / ${result.fds.loadEnd} / ${result.fds.afterClose}`],
    ['session → peer: sent / delivered / lost / duplicated', `${totals.outSent} / ${totals.outDelivered} / ${result.totals.outLost} / ${totals.outDup}`],
    [`peer → sessions: sent / deliveries expected (× ${perAccount.sessions}) / delivered / lost / duplicated`, `${totals.inSent} / ${result.totals.inExpected} / ${totals.inDeliveries} / ${result.totals.inLost} / ${totals.inDup}`],
    ['sessions closed during the run', closedSessions],
    ['p50 / p99 / max, session → peer', `${fmt(result.latency.out.p50, 1)} / ${fmt(result.latency.out.p99, 1)} / ${fmt(result.latency.out.max, 1)} ms`],
    ['p50 / p99 / max, peer → sessions', `${fmt(result.latency.in.p50, 1)} / ${fmt(result.latency.in.p99, 1)} / ${fmt(result.latency.in.max, 1)} ms`],
    ['load average (1 min) during the run', `${fmt(result.loadAverage.min, 1)}–${fmt(result.loadAverage.max, 1)}`],
  ]);
  writeResult('held', result);
  if (result.totals.outLost !== 0 || result.totals.inLost !== 0) throw new Error(`lost messages: ${result.totals.outLost} session → peer, ${result.totals.inLost} peer → sessions`);
});
