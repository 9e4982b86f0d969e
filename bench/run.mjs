#!/usr/bin/env node
// `npm run bench`: compiles the gateway (bench/tsconfig.json → bench/.build, the same code as dist/ plus
// test/support/prosody.ts), then runs each benchmark as its own process group with a time limit,
// raising the soft open-files limit to the hard one. A benchmark that overruns gets SIGTERM (it stops
// what it started, by PID), then SIGKILL of its group. Usage:
//   node bench/run.mjs [relay ceiling scale storms startup mam files held]   (default: all)
//   BENCH_QUICK=1 (smaller loads, 1 repeat)  BENCH_REPEATS=n  BENCH_PROF=<dir> (CPU profiles of gateways)
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uptime, loadavg } from 'node:os';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const ALL = {
  relay: 240,
  ceiling: 180,
  scale: 420, // 10 000 RSA handshakes on 2 shared cores, plus 10 000 ECDSA identities made by the load
  storms: 240,
  startup: 120,
  mam: 300,
  files: 300,
  // 10 min of load, plus accounts, 1 000 identities and links, 1 000 logins, the idle minute and the close.
  held: 1200,
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(ALL);
for (const w of wanted) if (!(w in ALL)) (console.error(`unknown benchmark ${w}; known: ${Object.keys(ALL).join(' ')}`), process.exit(2));

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (up ${Math.round(uptime() / 60)} min); ulimit -n: ${spawnSync('sh', ['-c', 'ulimit -n; ulimit -Hn'], { encoding: 'utf8' }).stdout.trim().replace('\n', ' soft, ')} hard`);
console.log('building bench/.build (tsc -p bench/tsconfig.json)…');
const tsc = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(BENCH, 'tsconfig.json')], { stdio: 'inherit', cwd: ROOT });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

let current;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) stopGroup(current);
    process.exit(130);
  });
}

function stopGroup(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {}
  setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, 15_000).unref();
}

const outcome = {};
for (const name of wanted) {
  console.log(`\n=== ${name} (limit ${ALL[name]} s) ===`);
  const t0 = Date.now();
  const code = await new Promise((resolve) => {
    // Own process group, so a timeout can stop the benchmark and everything it forked.
    const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, join(BENCH, `${name}.mjs`)], {
      stdio: 'inherit',
      cwd: ROOT,
      detached: true,
    });
    current = child;
    const timer = setTimeout(() => {
      console.error(`\n${name}: over ${ALL[name]} s, stopping it`);
      stopGroup(child);
    }, ALL[name] * 1000);
    child.on('exit', (c, s) => {
      clearTimeout(timer);
      // Whatever is left in its group (a hung grandchild) goes too.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      resolve(c ?? s);
    });
  });
  current = undefined;
  outcome[name] = { code, seconds: Math.round((Date.now() - t0) / 1000) };
}
console.log('\n=== summary ===');
for (const [name, o] of Object.entries(outcome)) console.log(`${name.padEnd(8)} ${o.code === 0 ? 'ok    ' : `FAILED (${o.code})`} ${o.seconds} s`);
console.log('results: bench/results/*-latest.json; figures and explanations: bench/README.md');
process.exit(Object.values(outcome).every((o) => o.code === 0) ? 0 : 1);
