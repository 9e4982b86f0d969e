// Probe, not one of run.mjs's benchmarks: the relay's gateway pair alone at saturation (no Prosody), with the CPU
// each gateway process spent per relayed message and how many writes one group commit covered. CPU per message is
// a share of the process's own work, so it moves far less with other people's load than msgs/s does: compare two
// builds with it, interleaved (BENCH_BUILD=bench/.build-base node bench/relay-cpu.mjs, then without).
// N messages per run (6000), R runs (3), W in flight (200, as relay.mjs); RATE=200: a fixed offered rate instead.
import { cpuOf, fmt, main, machineCpu } from './lib/common.mjs';
import { linkedGateways, loginTo } from './lib/gateways.mjs';
import { messageMix } from './lib/messages.mjs';
import { runLoad } from './lib/xmpp-load.mjs';
const N = Number(process.env.N ?? 6000);
const R = Number(process.env.R ?? 3);
await main(async () => {
  const texts = messageMix(N);
  const { a, b } = await linkedGateways();
  const ga = await loginTo(a);
  const gb = await loginTo(b);
  const toJid = `${b.fingerprint}@${a.peerDomain}`;
  let seq = 0;
  await runLoad({ sender: ga, receiver: gb, toJid, texts: texts.slice(0, 500), rate: 200, seqBase: (seq += 1e6) });
  for (let r = 0; r < R; r++) {
    const f0 = [await a.worker.request({ op: 'figures' }), await b.worker.request({ op: 'figures' })];
    const c0 = [cpuOf(a.pid), cpuOf(b.pid), process.cpuUsage()], m0 = machineCpu();
    const res = await runLoad({ sender: ga, receiver: gb, toJid, texts, ...(process.env.RATE ? { rate: Number(process.env.RATE) } : { window: Number(process.env.W ?? 200) }), seqBase: (seq += 1e6) });
    const c1 = [cpuOf(a.pid), cpuOf(b.pid), process.cpuUsage(c0[2])], m1 = machineCpu();
    const s = res.seconds;
    const f1 = [await a.worker.request({ op: 'figures' }), await b.worker.request({ op: 'figures' })];
    const per = (i) => `${f1[i].commits - f0[i].commits} commits, ${fmt((f1[i].runs - f0[i].runs) / (f1[i].commits - f0[i].commits), 1)} runs each`;
    console.log(`  A ${per(0)}; B ${per(1)}`);
    console.log(`sat ${fmt(res.msgsPerSec)}/s p50 ${fmt(res.p50,1)} p99 ${fmt(res.p99,1)} lost ${res.lost} | cpu A ${fmt(100*(c1[0]-c0[0])/s)}% B ${fmt(100*(c1[1]-c0[1])/s)}% client ${fmt((c1[2].user+c1[2].system)/1e4/s)}% machine busy ${fmt(100*(m1.busy-m0.busy)/(m1.total-m0.total))}% | µs cpu/msg A ${fmt(1e6*(c1[0]-c0[0])/N)} B ${fmt(1e6*(c1[1]-c0[1])/N)}`);
  }
});
