// One PeerManager (bridge-protocol, compiled into bench/.build) in its own process, listening on
// 127.0.0.1, as the gateway runs it: accepts every peer, counts links and messages; optionally
// echoes the messages of one peer (the "active chat" of the storm benchmark). Driven over IPC. It logs as
// a gateway does (pino at level info, here into /dev/null): per-peer and per-link loggers are part of a link's cost.
// Usage (forked): peer-manager-child.mjs <identity-json-file>; BENCH_BARE_TLS=1: a bare TLS server instead.
import { readFileSync } from 'node:fs';
import { built, cpuOf, rssOf, serveWorker } from './common.mjs';

const bp = await built('bridge-protocol/index.js');
const { pino } = await import('pino');
const identity = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let up = 0;
let online = 0;
let messages = 0;
let rejected = 0;
let downs = 0;
let echoPeer;
let pm;
if (process.env.BENCH_BARE_TLS === '1') {
  // The floor (scale.mjs): a bare Node TLS server with the same context and client certificates, no link, no
  // manager; what one TLS connection costs in Node itself. (tls.Server makes its context from key and cert.)
  const tls = await import('node:tls');
  const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem, minVersion: 'TLSv1.2', requestCert: true, rejectUnauthorized: false }, (s) => {
    up++, online++;
    s.on('data', () => messages++);
    s.on('error', () => {});
    s.on('close', () => online--);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  pm = { addresses: () => [server.address()], send: async () => {}, stop: async () => server.close() };
} else {
  pm = new bp.PeerManager({
    tls: bp.createTlsContext(identity),
    dialerFor: () => bp.directDialer(),
    listen: [{ host: '127.0.0.1', port: 0 }],
    log: pino({ level: 'info' }, pino.destination('/dev/null')),
  });
  pm.on('link-up', () => (up++, online++));
  pm.on('link-down', () => (online--, downs++));
  pm.on('inbound-rejected', () => rejected++);
  pm.on('message', (fp, m) => {
    messages++;
    if (fp === echoPeer) void pm.send(fp, m.text).catch(() => {});
  });
  await pm.start();
}

// Event-loop delay as the links see it.
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
// A second one for a window the driver marks (storms: the drop of every link), read by its max: the longest stall.
const windowEld = monitorEventLoopDelay({ resolution: 1 });
windowEld.enable();
// The garbage collections in that window: whether its longest stall is V8's.
const { PerformanceObserver } = await import('node:perf_hooks');
let windowStart = 0;
let windowGcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.startTime >= windowStart) windowGcs.push(e.duration);
}).observe({ entryTypes: ['gc'] });

serveWorker(
  {
    info: () => ({ pid: process.pid, port: pm.addresses()[0].port, fingerprint: identity.fingerprint }),
    stats: () => ({ up, online, downs, messages, rejected, rss: rssOf(process.pid), cpu: cpuOf(process.pid), heapUsed: process.memoryUsage().heapUsed, eldP99Ms: eld.percentile(99) / 1e6 }),
    resetEld: () => (eld.reset(), true),
    markWindow: () => (windowEld.reset(), (windowStart = performance.now()), (windowGcs = []), true),
    window: () => ({
      maxMs: windowEld.max / 1e6,
      p99Ms: windowEld.percentile(99) / 1e6,
      online,
      gcMs: windowGcs.reduce((a, b) => a + b, 0),
      gcMaxMs: Math.max(0, ...windowGcs),
    }),
    gc: () => (globalThis.gc?.(), true),
    echo: ({ fingerprint }) => ((echoPeer = fingerprint), true),
  },
  () => pm.stop(),
);
process.send({ ready: true });
