// Splits one process's CPU by where the work is, from `perf script` output of a `perf record -g` taken with
// node --perf-basic-prof (so JIT frames have their file names). Each sample goes to the first frame, from the
// top of its stack, that belongs to a known origin: the kernel, SQLite, OpenSSL, V8's collector, or a
// JavaScript function (ours, a dependency's, Node's own library). V8 builtins, inline-cache misses and libc
// calls are charged to the JavaScript function that called them, which is what would have to change.
// Only the longest stretch of seconds in which the process was busy is counted (the measured run, not the
// start-up), unless a window is given.
//   perf script -i perf.data --pid <pid> | node bench/lib/perf-origin.mjs [fromSecond toSecond]
import { createInterface } from 'node:readline';

const OPENSSL = /libcrypto|libssl|aesni|gcm_|ghash|EVP_|SSL_|ssl3_|tls1_|tls13_|sha256|sha512|CRYPTO_|BIO_|OPENSSL|ossl_/;
const GC = /Scaveng|MarkCompact|Heap::|GCTracer|Sweeper|ConcurrentMarking|MemoryAllocator/;

function origin(frame) {
  if (frame.includes('[kernel')) return 'kernel (system calls: TCP, files)';
  if (frame.includes('better_sqlite3')) return 'SQLite';
  if (OPENSSL.test(frame)) return 'OpenSSL (TLS)';
  if (GC.test(frame)) return 'V8 garbage collector';
  if (!frame.includes('JS:')) return undefined;
  if (/\.build[^/ ]*\/(gateway|bridge-protocol)\//.test(frame)) return 'ours (gateway, bridge-protocol JavaScript)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame);
  if (dep) return `dependency JavaScript: ${dep[1]}`;
  if (frame.includes('node:')) return "Node.js's own JavaScript (net, tls, streams)";
  return undefined;
}

const samples = []; // [second, origin]
let head;
let where;
function endSample() {
  if (head !== undefined) samples.push([head, where ?? 'V8 or Node runtime with no JavaScript caller (event loop, compiler)']);
  head = undefined;
  where = undefined;
}
for await (const line of createInterface({ input: process.stdin })) {
  const m = /\s(\d+)\.\d+:\s+\d+\s+cpu-clock/.exec(line);
  if (m) {
    endSample();
    head = Number(m[1]);
  } else if (line.trim() === '') endSample();
  else if (head !== undefined && where === undefined) where = origin(line);
}
endSample();

const perSecond = new Map();
for (const [s] of samples) perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
let [from, to] = process.argv.slice(2).map(Number);
if (from === undefined || Number.isNaN(from)) {
  // Busy = more than a third of the busiest second; the first and last second of the stretch are partial.
  const most = Math.max(...perSecond.values());
  let best = [];
  let run = [];
  for (const s of [...perSecond.keys()].sort((a, b) => a - b)) {
    if (perSecond.get(s) > most / 3 && (run.length === 0 || s === run[run.length - 1] + 1)) run.push(s);
    else run = perSecond.get(s) > most / 3 ? [s] : [];
    if (run.length > best.length) best = [...run];
  }
  [from, to] = [best[0] + 1, best[best.length - 1]];
}
const counted = samples.filter(([s]) => s >= from && s < to);
const by = new Map();
for (const [, o] of counted) by.set(o, (by.get(o) ?? 0) + 1);
const seconds = to - from;
const rate = seconds > 0 ? counted.length / seconds : 0;
console.log(`seconds ${from}–${to} of the trace: ${counted.length} samples (${rate.toFixed(0)} a second)`);
for (const [o, n] of [...by].sort((a, b) => b[1] - a[1])) console.log(`${((100 * n) / counted.length).toFixed(1).padStart(5)} %  ${o}`);
