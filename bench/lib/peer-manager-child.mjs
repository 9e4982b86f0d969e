// One PeerManager (bridge-protocol, compiled into bench/.build) in its own process, listening on
// 127.0.0.1, as the gateway runs it: accepts every peer, counts links and messages; optionally
// echoes the messages of one peer (the "active chat" of the storm benchmark). Driven over IPC.
// Usage (forked): peer-manager-child.mjs <identity-json-file>
import { readFileSync } from 'node:fs';
import { built, cpuOf, rssOf, serveWorker } from './common.mjs';

const bp = await built('bridge-protocol/index.js');
const identity = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const pm = new bp.PeerManager({
  tls: bp.createTlsContext(identity),
  dialerFor: () => bp.directDialer(),
  listen: [{ host: '127.0.0.1', port: 0 }],
});
let up = 0;
let online = 0;
let messages = 0;
let rejected = 0;
let echoPeer;
pm.on('link-up', () => (up++, online++));
pm.on('link-down', () => online--);
pm.on('inbound-rejected', () => rejected++);
pm.on('message', (fp, m) => {
  messages++;
  if (fp === echoPeer) void pm.send(fp, m.text).catch(() => {});
});
await pm.start();

// Event-loop delay as the links see it.
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();

serveWorker(
  {
    info: () => ({ pid: process.pid, port: pm.addresses()[0].port, fingerprint: identity.fingerprint }),
    stats: () => ({ up, online, messages, rejected, rss: rssOf(process.pid), cpu: cpuOf(process.pid), heapUsed: process.memoryUsage().heapUsed, eldP99Ms: eld.percentile(99) / 1e6 }),
    resetEld: () => (eld.reset(), true),
    gc: () => (globalThis.gc?.(), true),
    echo: ({ fingerprint }) => ((echoPeer = fingerprint), true),
  },
  () => pm.stop(),
);
process.send({ ready: true });
