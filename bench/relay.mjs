// Benchmark 1 — relay: XMPP client → gateway A → tlsim link → gateway B → XMPP client, versus the
// same client load through two Prosody servers federating over s2s with TLS (a@a.localhost →
// b@b.localhost). Same lean client, same message mix, runs interleaved (G, P, G, P, …) so both
// see the same machine noise. Target: ≥ 2× Prosody's throughput, p99 no worse.
import { QUICK, REPEATS, fmt, machine, main, median, spread, table, writeResult } from './lib/common.mjs';
import { linkedGateways, loginTo } from './lib/gateways.mjs';
import { messageMix, mixStats } from './lib/messages.mjs';
import { loginProsody, prosodyPair } from './lib/prosody-pair.mjs';
import { runLoad } from './lib/xmpp-load.mjs';

const RATE = Number(process.env.BENCH_RELAY_RATE ?? 200);
const N_RATE = QUICK ? 600 : RATE * 6;
const N_SAT = QUICK ? 1500 : 4000;
const WINDOW = 200;

await main(async () => {
  console.log(`relay: ${REPEATS} repeats; fixed rate ${RATE} msgs/s × ${N_RATE}; saturation ${N_SAT} msgs, window ${WINDOW}`, machine());
  const texts = messageMix(Math.max(N_RATE, N_SAT));
  console.log('message mix:', mixStats(texts));

  const { a, b } = await linkedGateways();
  const ga = await loginTo(a);
  const gb = await loginTo(b);
  // Explanatory variant, not the figure: the same gateways with their data directory on tmpfs, where
  // SQLite's fsync costs nothing — shows how much of the gap is the store's durability.
  const shm = await linkedGateways({ tmpfs: true });
  const sa = await loginTo(shm.a);
  const sb = await loginTo(shm.b);
  const pp = await prosodyPair();
  const pa = await loginProsody(pp.a, 'a');
  const pb = await loginProsody(pp.b, 'b');

  const systems = {
    gateway: { sender: ga, receiver: gb, toJid: `${b.fingerprint}@${a.peerDomain}` },
    prosody: { sender: pa, receiver: pb, toJid: 'b@b.localhost' },
    'gateway, store on tmpfs': { sender: sa, receiver: sb, toJid: `${shm.b.fingerprint}@${shm.a.peerDomain}` },
  };
  let seq = 0;
  const run = (sys, opts) => {
    const r = runLoad({ ...systems[sys], ...opts, seqBase: seq });
    seq += 1_000_000;
    return r;
  };
  // Warm-up: JIT, SQLite pages, and Prosody's s2s connection (opened by the first stanza).
  for (const sys of Object.keys(systems)) {
    const w = await run(sys, { texts: texts.slice(0, 200), rate: 100, maxMs: 20_000 });
    if (w.received < 190) throw new Error(`${sys} warm-up: only ${w.received}/200 arrived`);
  }
  const results = Object.fromEntries(Object.keys(systems).map((k) => [k, { rate: [], sat: [] }]));
  for (let r = 0; r < REPEATS; r++) {
    for (const sys of Object.keys(systems)) {
      const fixed = await run(sys, { texts: texts.slice(0, N_RATE), rate: RATE, maxMs: 60_000 });
      const sat = await run(sys, { texts: texts.slice(0, N_SAT), window: WINDOW, maxMs: 60_000 });
      results[sys].rate.push(fixed);
      results[sys].sat.push(sat);
      console.log(`  repeat ${r + 1} ${sys}: fixed ${fmt(fixed.msgsPerSec)}/s p50 ${fmt(fixed.p50, 1)} p99 ${fmt(fixed.p99, 1)} ms lost ${fixed.lost}; saturation ${fmt(sat.msgsPerSec)}/s p50 ${fmt(sat.p50, 1)} p99 ${fmt(sat.p99, 1)} ms lost ${sat.lost}`);
    }
  }
  const col = (sys, kind, key, d = 0) => spread(results[sys][kind].map((x) => x[key]), d);
  const med = (sys, kind, key) => median(results[sys][kind].map((x) => x[key]));
  // Ratios per repeat (same moment of the machine), then their median.
  const ratio = (kind, key, inv = false) =>
    median(results.gateway[kind].map((g, i) => (inv ? results.prosody[kind][i][key] / g[key] : g[key] / results.prosody[kind][i][key])));
  const rows = [];
  for (const [kind, label] of [['rate', `fixed ${RATE}/s`], ['sat', 'saturation']]) {
    for (const sys of Object.keys(systems)) {
      rows.push([label, sys, col(sys, kind, 'msgsPerSec'), col(sys, kind, 'p50', 1), col(sys, kind, 'p99', 1), spread(results[sys][kind].map((x) => x.lost))]);
    }
  }
  table('Relay A → B (median of repeats, (min–max))', ['load', 'system', 'msgs/s', 'p50 ms', 'p99 ms', 'lost'], rows);
  const summaryRatios = {
    saturationThroughput: ratio('sat', 'msgsPerSec'),
    fixedRateP99ProsodyOverGateway: ratio('rate', 'p99', true),
    saturationP99ProsodyOverGateway: ratio('sat', 'p99', true),
  };
  table('Ratios gateway vs Prosody (median of per-repeat ratios)', ['figure', 'ratio', 'target'], [
    ['saturation throughput gateway/Prosody', fmt(summaryRatios.saturationThroughput, 2), '≥ 2'],
    [`p99 at ${RATE}/s Prosody/gateway (>1: gateway better)`, fmt(summaryRatios.fixedRateP99ProsodyOverGateway, 2), '≥ 1'],
    ['p99 at saturation Prosody/gateway', fmt(summaryRatios.saturationP99ProsodyOverGateway, 2), '≥ 1'],
    ['(variant) saturation throughput gateway on tmpfs/Prosody', fmt(median(results['gateway, store on tmpfs'].sat.map((g, i) => g.msgsPerSec / results.prosody.sat[i].msgsPerSec)), 2), ''],
  ]);
  writeResult('relay', {
    config: { rate: RATE, nRate: N_RATE, nSat: N_SAT, window: WINDOW, repeats: REPEATS, mix: mixStats(texts) },
    results,
    medians: {
      gateway: { satMsgsPerSec: med('gateway', 'sat', 'msgsPerSec'), rateP99: med('gateway', 'rate', 'p99') },
      prosody: { satMsgsPerSec: med('prosody', 'sat', 'msgsPerSec'), rateP99: med('prosody', 'rate', 'p99') },
    },
    ratios: summaryRatios,
  });
});
