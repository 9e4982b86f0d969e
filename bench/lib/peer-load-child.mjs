// Simulated peers in their own process: real TLS links (bridge-protocol dialLink, the same code a
// gateway dials with) with DISTINCT identities (peerIdentities: 200 cached RSA-2048, the rest
// ECDSA P-256, each with its own key and certificate), plus connections that stall their handshake.
// A link is a gateway-extension peer (ALPN x-tlsim-gateway, acks) or, with `reference`, a reference-style
// line peer (no ALPN, plain lines). `chat` makes every link send the message mix at a steady rate and
// records what it sent and received (markers, on the clock all processes share) until `take`.
import net from 'node:net';
import { built, cpuOf, serveWorker, sharedNow, sleep } from './common.mjs';
import { peerIdentities } from './identities.mjs';
import { markersIn, messageMix } from './messages.mjs';

const bp = await built('bridge-protocol/index.js');
let ctxs = [];
let ids = [];
const links = new Map();
const stalled = [];
/** The running chat (op chat), if any. */
let chat;

function received(m) {
  if (!chat) return;
  const t = sharedNow();
  for (const seq of markersIn(m.text)) chat.recv.push(seq, t);
}

function connectOne(i, port, fingerprint, reference) {
  return new Promise((resolve, reject) => {
    const raw = net.connect(port, '127.0.0.1');
    raw.once('error', reject);
    raw.once('connect', () => {
      raw.off('error', reject);
      bp.dialLink(raw, ctxs[i], { expectedFingerprint: fingerprint, handshakeTimeoutMs: 60_000, ...(reference && { gatewayAlpns: [] }) }).then((link) => {
        link.start();
        link.on('message', received);
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
      ids = await peerIdentities(n);
      ctxs = ids.map((id) => bp.createTlsContext(id));
      return { ms: performance.now() - t0, distinct: new Set(ids.map((x) => x.fingerprint)).size };
    },
    /** Links for peers [from, to) with at most `concurrency` handshakes at once (Infinity: all at once). */
    fingerprints: () => ids.map((id) => id.fingerprint),
    connect: async ({ port, fingerprint, from = 0, to = ctxs.length, concurrency = 128, reference = false }) => {
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
              await connectOne(i, port, fingerprint, reference);
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
    /**
     * Every link sends one text of the mix every `intervalMs` (phases spread evenly), markers from `seqBase`
     * up; sent as [seq, time, link] and received as [seq, time] are kept for `take`.
     */
    chat: ({ intervalMs, seqBase, seed = 5 }) => {
      const texts = messageMix(5000, seed);
      const order = [...links.keys()];
      const due = Float64Array.from(order, (_, k) => sharedNow() + (k * intervalMs) / order.length);
      chat = { seq: seqBase, sent: [], recv: [], failed: 0, timer: undefined };
      const c = chat;
      c.timer = setInterval(() => {
        const now = sharedNow();
        for (let k = 0; k < order.length; k++) {
          if (due[k] > now) continue;
          due[k] += intervalMs;
          const link = links.get(order[k]);
          if (!link) continue;
          const seq = c.seq++;
          c.sent.push(seq, sharedNow(), order[k]);
          link.send(`#m${seq}# ${texts[seq % texts.length]}`).catch(() => c.failed++);
        }
      }, 20);
      return order.length;
    },
    /** What was sent and received since the last take (flat arrays), and sends that failed so far. */
    take: () => {
      if (!chat) return { sent: [], recv: [], failed: 0 };
      const out = { sent: chat.sent, recv: chat.recv, failed: chat.failed, links: links.size };
      chat.sent = [];
      chat.recv = [];
      return out;
    },
    /** Stop sending (receiving and recording go on until the next chat or the end). */
    stopChat: () => (clearInterval(chat?.timer), true),
    /** Closes every link cleanly (close_notify, END on links with acks); resolves when all are closed. */
    closeAll: async () => {
      await Promise.all([...links.values()].map((l) => Promise.race([l.close().catch(() => {}), sleep(10_000)])));
      for (const l of links.values()) l.destroy();
      return links.size;
    },
  },
  async () => {
    for (const l of links.values()) l.destroy();
    for (const s of stalled) s.destroy();
  },
);
process.send({ ready: true });
