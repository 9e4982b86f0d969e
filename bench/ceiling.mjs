// Benchmark 2 — ceiling.
//  a) The tlsim link alone (bridge-protocol dialLink/acceptLink: send → 'message', echoed back) versus a
//     bare Node TLS line echo (tls.createServer + tls.connect), same message mix, same identities, hence
//     the same TLS version and cipher (checked and printed). Both ends in this process, loopback TCP.
//  b) One gateway end to end: XMPP client → gateway → tlsim link → an echo peer (a bare bridge-protocol
//     link in this process) → gateway → XMPP client. Target: ≥ 40 k msgs/s through one gateway.
//  c) What the gateway's store costs per message: SQLite inserts/s in WAL with synchronous=FULL, NORMAL (the
//     gateway's setting since this work), and FULL on tmpfs: the cost of fsync behind (b).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import Database from 'better-sqlite3';
import { QUICK, REPEATS, built, fmt, machine, main, median, onCleanup, spread, table, writeResult } from './lib/common.mjs';
import { loginTo, startGateway } from './lib/gateways.mjs';
import { rsaIdentities } from './lib/identities.mjs';
import { markersIn, messageMix, mixStats } from './lib/messages.mjs';
import { runLoad } from './lib/xmpp-load.mjs';

const bp = await built('bridge-protocol/index.js');
const N_LINK = QUICK ? 20_000 : 60_000;
// BENCH_GW_MESSAGES: a longer end-to-end run, so the gateway's JIT warm-up (≈ the first second) is a small part of it.
const N_GW = Number(process.env.BENCH_GW_MESSAGES ?? (QUICK ? 2_000 : 6_000));
const WINDOW = 500;

function listen(server) {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));
}

/** Pipelined echo: keeps `window` messages in flight; resolves msgs/s (round trips) and p50/p99. */
async function echoLoad(send, onEcho, texts, window) {
  const n = texts.length;
  const sentAt = new Float64Array(n);
  const lat = [];
  let next = 0;
  let got = 0;
  return new Promise((resolve) => {
    const t0 = performance.now();
    const pump = () => {
      while (next < n && next - got < window) {
        sentAt[next] = performance.now();
        send(`#m${next}# ${texts[next]}`);
        next++;
      }
    };
    onEcho((seq) => {
      lat.push(performance.now() - sentAt[seq]);
      if (++got === n) {
        const s = (performance.now() - t0) / 1000;
        lat.sort((a, b) => a - b);
        resolve({ msgsPerSec: n / s, p50: lat[Math.floor(n * 0.5)], p99: lat[Math.floor(n * 0.99)] });
      } else if (next - got <= window / 2) pump();
    });
    pump();
  });
}

async function linkEcho(ids, texts) {
  const [sid, cid] = [bp.createTlsContext(ids[0]), bp.createTlsContext(ids[1])];
  const server = net.createServer((raw) =>
    bp.acceptLink(raw, sid).then((link) => {
      link.on('message', (m) => void link.send(m.text).catch(() => {}));
      link.start();
    }),
  );
  const port = await listen(server);
  const raw = net.connect(port, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  const link = await bp.dialLink(raw, cid, { expectedFingerprint: ids[0].fingerprint });
  const sock = link.socket; // private in TS; read here only to report the negotiated TLS
  const cipher = `${sock.getProtocol()} ${sock.getCipher().standardName}`;
  let onSeq;
  link.on('message', (m) => {
    for (const s of markersIn(m.text)) onSeq(s);
  });
  link.start();
  const r = await echoLoad((t) => void link.send(t).catch(() => {}), (f) => (onSeq = f), texts, WINDOW);
  await link.close();
  server.close();
  return { ...r, cipher };
}

/**
 * socket.write() for one message per TLS record: the next write starts in the previous one's callback
 * (writes issued while one is in progress would be joined by writev into one record, which a tlsim
 * receiver shows as ONE message: the link must not do that, so the fair bare-TLS figure must not either).
 */
function recordWriter(socket) {
  const queue = [];
  let busy = false;
  const next = () => {
    const s = queue.shift();
    if (s === undefined) return void (busy = false);
    busy = true;
    socket.write(s, next);
  };
  return (s) => {
    queue.push(s);
    if (!busy) next();
  };
}

async function bareEcho(ids, texts, oneRecord = false) {
  // Same identities and TLS settings as the link: mutual certificates, no verification.
  const server = tls.createServer({ key: ids[0].keyPem, cert: ids[0].certPem, minVersion: 'TLSv1.2', requestCert: true, rejectUnauthorized: false }, (s) => {
    const write = oneRecord ? recordWriter(s) : (x) => s.write(x);
    let held = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      held += d;
      const lf = held.lastIndexOf('\n');
      if (lf < 0) return;
      // Echo line by line, one write each, as the link's echo does (one send per message).
      for (const line of held.slice(0, lf).split('\n')) write(`${line}\n`);
      held = held.slice(lf + 1);
    });
    s.on('error', () => {});
  });
  const port = await listen(server);
  const c = tls.connect({ port, host: '127.0.0.1', key: ids[1].keyPem, cert: ids[1].certPem, minVersion: 'TLSv1.2', rejectUnauthorized: false, servername: '' });
  c.on('error', () => {});
  await new Promise((r) => c.once('secureConnect', r));
  const cipher = `${c.getProtocol()} ${c.getCipher().standardName}`;
  let onSeq;
  let held = '';
  c.setEncoding('utf8');
  c.on('data', (d) => {
    held += d;
    const lf = held.lastIndexOf('\n');
    if (lf < 0) return;
    const lines = held.slice(0, lf);
    held = held.slice(lf + 1);
    for (const s of markersIn(lines)) onSeq(s);
  });
  // One write per message, text + LF, as the link does (encodeMessage).
  const write = oneRecord ? recordWriter(c) : (x) => c.write(x);
  const r = await echoLoad((t) => write(`${t}\n`), (f) => (onSeq = f), texts, WINDOW);
  c.destroy();
  server.close();
  return { ...r, cipher };
}

/** An echo peer for the gateway: accepts its link and sends every message back. */
async function echoPeer(id) {
  const ctx = bp.createTlsContext(id);
  const server = net.createServer((raw) =>
    bp
      .acceptLink(raw, ctx)
      .then((link) => {
        link.on('message', (m) => void link.send(m.text).catch(() => {}));
        link.start();
      })
      .catch(() => {}),
  );
  const port = await listen(server);
  onCleanup(() => server.close());
  return { port };
}

function storeInserts(dir, sync, n) {
  const db = new Database(join(dir, 'x.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)');
  const ins = db.prepare('INSERT INTO t (body) VALUES (?)');
  const body = 'x'.repeat(330);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ins.run(body);
  const s = (performance.now() - t0) / 1000;
  db.close();
  return n / s;
}

await main(async () => {
  console.log(`ceiling: ${REPEATS} repeats`, machine());
  const ids = await rsaIdentities(3);
  const texts = messageMix(Math.max(N_LINK, N_GW), 7);
  console.log('message mix:', mixStats(texts));

  // a) link vs bare TLS, interleaved
  const link = [];
  const bare = [];
  const bare1 = [];
  await linkEcho(ids, texts.slice(0, 2000)); // warm-up
  await bareEcho(ids, texts.slice(0, 2000));
  await bareEcho(ids, texts.slice(0, 2000), true);
  for (let r = 0; r < REPEATS; r++) {
    link.push(await linkEcho(ids, texts.slice(0, N_LINK)));
    bare.push(await bareEcho(ids, texts.slice(0, N_LINK)));
    bare1.push(await bareEcho(ids, texts.slice(0, N_LINK), true));
    console.log(`  repeat ${r + 1}: link ${fmt(link.at(-1).msgsPerSec)}/s (${link.at(-1).cipher}), bare TLS ${fmt(bare.at(-1).msgsPerSec)}/s, one record per line ${fmt(bare1.at(-1).msgsPerSec)}/s (${bare.at(-1).cipher})`);
  }
  const linkRatio = median(link.map((l, i) => l.msgsPerSec / bare[i].msgsPerSec));
  const linkRatio1 = median(link.map((l, i) => l.msgsPerSec / bare1[i].msgsPerSec));
  table(`Link vs bare TLS line echo (${N_LINK} round trips, window ${WINDOW}, one process)`, ['system', 'TLS', 'round trips/s', 'p50 ms', 'p99 ms'], [
    ['tlsim link', link[0].cipher, spread(link.map((x) => x.msgsPerSec)), spread(link.map((x) => x.p50), 1), spread(link.map((x) => x.p99), 1)],
    ['bare Node TLS', bare[0].cipher, spread(bare.map((x) => x.msgsPerSec)), spread(bare.map((x) => x.p50), 1), spread(bare.map((x) => x.p99), 1)],
    ['bare Node TLS, one record per line', bare1[0].cipher, spread(bare1.map((x) => x.msgsPerSec)), spread(bare1.map((x) => x.p50), 1), spread(bare1.map((x) => x.p99), 1)],
    ['ratio link/bare', '', fmt(linkRatio, 2), '', ''],
    ['ratio link/bare one record per line', '', fmt(linkRatio1, 2), '', ''],
  ]);

  // b) one gateway end to end (disk store, and the tmpfs variant to show what the store costs)
  const peer = await echoPeer(ids[2]);
  const gws = {};
  for (const [name, tmpfs] of [['gateway', false], ['gateway, store on tmpfs', true]]) {
    const gw = await startGateway(tmpfs ? 'ceil-shm' : 'ceil', { tmpfs });
    await gw.worker.request({ op: 'add', fingerprint: ids[2].fingerprint, address: `127.0.0.1:${peer.port}` });
    await gw.worker.request({ op: 'waitOnline', fingerprint: ids[2].fingerprint });
    const client = await loginTo(gw);
    gws[name] = { client, toJid: `${ids[2].fingerprint}@${gw.peerDomain}`, runs: [] };
  }
  let seq = 0;
  for (const g of Object.values(gws)) {
    await runLoad({ sender: g.client, receiver: g.client, toJid: g.toJid, texts: texts.slice(0, 300), rate: 150, seqBase: (seq += 1e6) });
  }
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, g] of Object.entries(gws)) {
      const res = await runLoad({ sender: g.client, receiver: g.client, toJid: g.toJid, texts: texts.slice(0, N_GW), window: WINDOW, maxMs: 60_000, seqBase: (seq += 1e6) });
      g.runs.push(res);
      console.log(`  repeat ${r + 1} ${name}: ${fmt(res.msgsPerSec)} round trips/s, p99 ${fmt(res.p99, 1)} ms, lost ${res.lost}`);
    }
  }
  // Each round trip crosses the gateway twice (client → peer, peer → client): relayed msgs/s = 2 × round trips/s.
  table(`One gateway end to end (${N_GW} messages, window ${WINDOW}); relayed = 2 × round trips`, ['system', 'round trips/s', 'relayed msgs/s', 'p50 ms', 'p99 ms', 'lost'], Object.entries(gws).map(([name, g]) => [
    name,
    spread(g.runs.map((x) => x.msgsPerSec)),
    spread(g.runs.map((x) => 2 * x.msgsPerSec)),
    spread(g.runs.map((x) => x.p50), 1),
    spread(g.runs.map((x) => x.p99), 1),
    spread(g.runs.map((x) => x.lost)),
  ]));

  // c) the store's floor
  const diskDir = mkdtempSync(join(tmpdir(), 'tlsim-bench-sqlite-'));
  const shmDir = mkdtempSync(join('/dev/shm', 'tlsim-bench-sqlite-'));
  onCleanup(() => rmSync(diskDir, { recursive: true, force: true }));
  onCleanup(() => rmSync(shmDir, { recursive: true, force: true }));
  const store = {
    'disk, synchronous=FULL': storeInserts(diskDir, 'FULL', QUICK ? 300 : 1000),
    'disk, synchronous=NORMAL (gateway setting)': storeInserts(diskDir, 'NORMAL', 20_000),
    'tmpfs, synchronous=FULL': storeInserts(shmDir, 'FULL', 20_000),
  };
  table('SQLite WAL, one autocommit INSERT of 330 bytes per statement', ['where', 'inserts/s'], Object.entries(store).map(([k, v]) => [k, fmt(v)]));

  writeResult('ceiling', {
    config: { nLink: N_LINK, nGateway: N_GW, window: WINDOW, repeats: REPEATS },
    link,
    bare,
    bareOneRecordPerLine: bare1,
    linkOverBare: linkRatio,
    linkOverBareOneRecordPerLine: linkRatio1,
    gateway: Object.fromEntries(Object.entries(gws).map(([k, g]) => [k, { runs: g.runs, relayedMsgsPerSecMedian: 2 * median(g.runs.map((x) => x.msgsPerSec)) }])),
    storeInsertsPerSec: store,
  });
});
