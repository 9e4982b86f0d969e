// Shared bits of every benchmark: statistics, tables, results files, child processes stopped by PID
// (also on failure and on SIGTERM from bench/run.mjs), RSS and CPU from /proc.
import { fork, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
/** BENCH_BUILD=<dir>: another compiled tree (e.g. the commit before, for interleaved A/B runs), relative to the working directory or absolute. */
export const BUILD = process.env.BENCH_BUILD ? resolve(process.env.BENCH_BUILD) : join(BENCH_DIR, '.build');
export const CACHE = join(BENCH_DIR, '.cache');
export const RESULTS = join(BENCH_DIR, 'results');
/** Import a compiled module of the project (bench/tsconfig.json builds into bench/.build). */
export const built = (rel) => import(join(BUILD, rel));

export const QUICK = process.env.BENCH_QUICK === '1';
export const REPEATS = Number(process.env.BENCH_REPEATS ?? (QUICK ? 1 : 3));

// ---- statistics ---------------------------------------------------------------------------

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, min: s[0], p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
}

export function median(values) {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** "median (min–max)" of repeated runs: the spread is part of the figure on a shared machine. */
export function spread(values, digits = 0) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return 'n/a';
  const f = (x) => fmt(x, digits);
  const s = [...v].sort((a, b) => a - b);
  return v.length === 1 ? f(s[0]) : `${f(median(s))} (${f(s[0])}–${f(s[s.length - 1])})`;
}

export function fmt(x, digits = 0) {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function table(title, head, rows) {
  const all = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  console.log(`\n${title}`);
  console.log(line(all[0]));
  console.log('|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|');
  for (const r of all.slice(1)) console.log(line(r));
}

export function machine() {
  return { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => +x.toFixed(2)), node: process.version };
}

export function writeResult(name, data) {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2));
  writeFileSync(join(RESULTS, `${name}-latest.json`), JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2));
  console.log(`\nresults: ${file}`);
}

// ---- processes ---------------------------------------------------------------------------

const cleanups = [];
/** Runs at the end, on failure and on SIGTERM/SIGINT, last registered first. */
export function onCleanup(fn) {
  cleanups.push(fn);
}
let cleaning;
export function cleanup() {
  cleaning ??= (async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await Promise.race([fn(), sleep(8000)]);
      } catch (err) {
        console.error('cleanup step failed:', err?.message ?? err);
      }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping what this benchmark started`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** The benchmark's main: results or an error, and everything it started is stopped. */
export async function main(fn) {
  let code = 0;
  try {
    await fn();
  } catch (err) {
    console.error(err?.stack ?? err);
    code = 1;
  }
  await cleanup();
  process.exit(code);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds on a clock every process of the machine shares (time origin + monotonic offset), for latencies across processes. */
export const sharedNow = () => performance.timeOrigin + performance.now();

/** Stops a child by PID: SIGTERM, then SIGKILL after a grace period. */
export async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  await gone;
  clearTimeout(t);
}

/**
 * A Node child speaking our IPC protocol: request({op, ...}) → reply object. Stopped by PID at cleanup.
 * `execArgv` e.g. ['--cpu-prof'] for profiling.
 */
export function forkWorker(script, args = [], opts = {}) {
  const child = fork(script, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: opts.execArgv ?? [],
    env: { ...process.env, ...opts.env },
  });
  let seq = 0;
  const pending = new Map();
  const events = [];
  child.on('message', (m) => {
    if (m && m.reply !== undefined) {
      const p = pending.get(m.reply);
      pending.delete(m.reply);
      if (m.error) p?.reject(new Error(`${script}: ${m.error}`));
      else p?.resolve(m.value);
    } else if (m && m.ready) readyResolve(m);
    else events.push(m);
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let readyResolve;
  const ready = new Promise((resolve, reject) => {
    readyResolve = resolve;
    void exited.then(({ code, signal }) => reject(new Error(`${script} exited before ready (${code ?? signal})`)));
  });
  ready.catch(() => {});
  void exited.then(({ code, signal }) => {
    for (const p of pending.values()) p.reject(new Error(`${script} exited (${code ?? signal})`));
    pending.clear();
  });
  const w = {
    child,
    pid: child.pid,
    events,
    exited,
    ready,
    request(msg, timeoutMs = 60_000) {
      const id = ++seq;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${script}: ${msg.op} timed out`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => (clearTimeout(t), resolve(v)),
          reject: (e) => (clearTimeout(t), reject(e)),
        });
        child.send({ ...msg, id });
      });
    },
    async stop() {
      if (child.connected) {
        try {
          await w.request({ op: 'stop' }, 12_000);
        } catch {}
      }
      await stopChild(child);
    },
  };
  onCleanup(() => w.stop());
  return w;
}

/** The serving side of forkWorker: handlers by op; 'stop' runs `onStop` then exits. */
export function serveWorker(handlers, onStop = async () => {}) {
  process.on('message', async (m) => {
    if (m.op === 'stop') {
      await onStop().catch(() => {});
      process.send({ reply: m.id, value: true }, () => process.exit(0));
      return;
    }
    try {
      const h = handlers[m.op];
      if (!h) throw new Error(`unknown op ${m.op}`);
      process.send({ reply: m.id, value: await h(m) });
    } catch (err) {
      process.send({ reply: m.id, error: err?.stack ?? String(err) });
    }
  });
  process.on('disconnect', () => void onStop().finally(() => process.exit(0)));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => void onStop().finally(() => process.exit(0)));
}

export function spawnLogged(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  onCleanup(() => stopChild(child));
  return child;
}

// ---- /proc -------------------------------------------------------------------------------

const CLK_TCK = 100;
/** Resident set size of a process in bytes. */
export function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
/** Open file descriptors of a process (entries of /proc/<pid>/fd). */
export function fdsOf(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}
/** CPU seconds (user + system) a process has used so far. */
export function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
/** CPU seconds of the machine, all cores, busy and total. */
export function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}
