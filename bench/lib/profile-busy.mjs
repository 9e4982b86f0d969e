// Self and inclusive time per function in a V8 .cpuprofile, counting only the busy stretches (100 ms buckets
// in which the process was at least half busy): the load phase without start-up and waits.
// node bench/lib/profile-busy.mjs <file> [n] [filter-regexp for inclusive]
import { readFileSync } from 'node:fs';
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3] ?? 30);
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const idle = new Set(prof.nodes.filter((x) => ['(idle)', '(program)'].includes(x.callFrame.functionName)).map((x) => x.id));
const t = [];
let now = prof.startTime;
for (let i = 0; i < prof.samples.length; i++) t.push((now += prof.timeDeltas[i] ?? 0));
const bucket = (x) => Math.floor((x - prof.startTime) / 100_000);
const busy = new Map();
const all = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const b = bucket(t[i]);
  all.set(b, (all.get(b) ?? 0) + 1);
  if (!idle.has(prof.samples[i])) busy.set(b, (busy.get(b) ?? 0) + 1);
}
// BUSY=0.2: a lower share for a fixed-rate run (default 0.5).
const share = Number(process.env.BUSY ?? 0.5);
const keep = new Set([...all].filter(([b, k]) => (busy.get(b) ?? 0) >= k * share).map(([b]) => b));
const key = (x) => {
  const cf = x.callFrame;
  return `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(bench\/\.build[^/]*|node_modules)\//, '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
};
const self = new Map();
const incl = new Map();
let total = 0;
let idleN = 0;
for (let i = 0; i < prof.samples.length; i++) {
  if (!keep.has(bucket(t[i]))) continue;
  const dt = prof.timeDeltas[i + 1] ?? 0;
  const id = prof.samples[i];
  if (idle.has(id)) {
    idleN += dt;
    continue;
  }
  total += dt;
  const k = key(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + dt);
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const kk = key(byId.get(p));
    if (seen.has(kk)) continue;
    seen.add(kk);
    incl.set(kk, (incl.get(kk) ?? 0) + dt);
  }
}
console.log(`busy buckets ${keep.size} × 100 ms; busy ${(total / 1000).toFixed(0)} ms, idle ${(idleN / 1000).toFixed(0)} ms in them`);
const pr = (m, title, filter) => {
  console.log(`-- ${title}`);
  for (const [k, v] of [...m].filter(([k]) => !filter || filter.test(k)).sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
pr(self, 'self (share of busy samples)');
pr(incl, 'inclusive, our code', new RegExp(process.argv[4] ?? '(gateway|bridge-protocol)/'));
