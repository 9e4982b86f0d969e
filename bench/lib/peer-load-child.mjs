// Simulated peers in their own process: real TLS links (bridge-protocol dialLink, the same code a
// gateway dials with) with DISTINCT identities (peerIdentities: 200 cached RSA-2048, the rest
// ECDSA P-256, each with its own key and certificate), plus connections that stall their handshake.
import net from 'node:net';
import { built, cpuOf, serveWorker, sleep } from './common.mjs';
import { peerIdentities } from './identities.mjs';

const bp = await built('bridge-protocol/index.js');
let ctxs = [];
const links = new Map();
const stalled = [];

function connectOne(i, port, fingerprint) {
  return new Promise((resolve, reject) => {
    const raw = net.connect(port, '127.0.0.1');
    raw.once('error', reject);
    raw.once('connect', () => {
      raw.off('error', reject);
      bp.dialLink(raw, ctxs[i], { expectedFingerprint: fingerprint, handshakeTimeoutMs: 60_000 }).then((link) => {
        link.start();
        link.on('message', () => {});
        links.set(i, link);
        link.on('close', () => links.get(i) === link && links.delete(i));
        resolve(link);
      }, reject);
    });
  });
}

serveWorker(
  {
    prepare: async ({ n }) => {
      const t0 = performance.now();
      const ids = await peerIdentities(n);
      ctxs = ids.map((id) => bp.createTlsContext(id));
      return { ms: performance.now() - t0, distinct: new Set(ids.map((x) => x.fingerprint)).size };
    },
    /** Links for peers [from, to) with at most `concurrency` handshakes at once (Infinity: all at once). */
    connect: async ({ port, fingerprint, from = 0, to = ctxs.length, concurrency = 128 }) => {
      const t0 = performance.now();
      const cpu0 = cpuOf(process.pid);
      let next = from;
      let failed = 0;
      let retries = 0;
      const worker = async () => {
        while (next < to) {
          const i = next++;
          for (let attempt = 0; ; attempt++) {
            try {
              await connectOne(i, port, fingerprint);
              break;
            } catch {
              // Refused (the manager's limit on handshakes in progress) or reset: retry soon, as a redialing peer would.
              if (attempt >= 20) {
                failed++;
                break;
              }
              retries++;
              await sleep(20 + Math.random() * 80);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency ?? to - from, to - from) }, worker));
      return { ms: performance.now() - t0, ok: to - from - failed, failed, retries, loadCpu: cpuOf(process.pid) - cpu0 };
    },
    sendAll: async ({ text }) => {
      await Promise.all([...links.values()].map((l) => l.send(text).catch(() => {})));
      return links.size;
    },
    /** Drop every link at once, as when the network comes back after an outage (TCP reset, no close_notify). */
    dropAll: async () => {
      for (const l of links.values()) l.destroy();
      links.clear();
      await sleep(200);
      return true;
    },
    /** `n` TCP connections that never send a ClientHello: each holds a handshake slot until it times out. */
    stall: async ({ port, n }) => {
      for (let i = 0; i < n; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        stalled.push(s);
      }
      await sleep(100);
      return stalled.length;
    },
    count: () => links.size,
  },
  async () => {
    for (const l of links.values()) l.destroy();
    for (const s of stalled) s.destroy();
  },
);
process.send({ ready: true });
