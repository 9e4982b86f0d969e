// Benchmark 5 — start-up and idle. Spawns the real CLI (`node bench/.build/gateway/cli.js run …`, the
// same compiled code as dist/) and measures the time from spawn to the first successful login-ready
// answer: a TCP connect to the c2s port and a stream header answered with <stream:features>. Cold =
// empty data directory (the identity's RSA key and the local CA are made); warm = second start.
// Then idle RSS with 100 contacts in the store (offline, with addresses: the gateway redials them
// with backoff, as it would a real contact list). Targets: < 1 s (warm), < 80 MB.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD, REPEATS, built, fmt, machine, main, onCleanup, rssOf, sleep, spread, stopChild, table, writeResult } from './lib/common.mjs';

const { freePort } = await built('test/support/net.js');
const CLI = join(BUILD, 'gateway/cli.js');

/** Resolves when the port answers a stream header with features; polls every 5 ms. */
async function waitForFeatures(port, child, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let buf = '';
      const done = (v) => (s.destroy(), resolve(v));
      s.once('error', () => done(false));
      s.once('connect', () =>
        s.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`),
      );
      s.on('data', (d) => {
        buf += d;
        if (buf.includes('</stream:features>')) done(true);
      });
      setTimeout(() => done(false), 2000);
    });
    if (ok) return;
    await sleep(5);
  }
  throw new Error('no stream features within the timeout');
}

async function startOnce(dataDir, port) {
  const env = { ...process.env, TLSIM_CONFIG: join(dataDir, 'none.toml'), XDG_CONFIG_HOME: dataDir, XDG_DATA_HOME: dataDir };
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', '--data-dir', dataDir, '--c2s-port', String(port), '--peer-port', '0', '--websocket-port', '0', '--tor', 'off', '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  onCleanup(() => stopChild(child));
  try {
    await waitForFeatures(port, child);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${err.message}\n${stderr}`);
  }
  return { child, ms: performance.now() - t0 };
}

await main(async () => {
  console.log(`startup: ${REPEATS} repeats`, machine());
  const cold = [];
  const warm = [];
  const idle = [];
  for (let r = 0; r < REPEATS; r++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'tlsim-bench-start-'));
    onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const first = await startOnce(dataDir, port);
    cold.push(first.ms);
    await stopChild(first.child, 12_000);

    // 100 offline contacts in the store (addresses of a closed port), written while stopped.
    const { openStore } = await built('gateway/store/index.js');
    const store = openStore(dataDir);
    const acct = store.accounts.list ? store.accounts.list()[0]?.id : undefined;
    const accountId = acct ?? store.accounts.ensure('me@localhost');
    const closed = await freePort();
    for (let i = 0; i < 100; i++) {
      const fp = createHash('sha256').update(randomBytes(32)).digest('hex');
      store.contacts.upsert(accountId, fp, { state: 'contact', name: `contact ${i}`, address: `127.0.0.1:${closed}` });
    }
    store.close();

    const second = await startOnce(dataDir, port);
    warm.push(second.ms);
    await sleep(5000);
    idle.push({ rss5s: rssOf(second.child.pid) });
    console.log(`  repeat ${r + 1}: cold ${fmt(first.ms)} ms, warm ${fmt(second.ms)} ms, idle RSS ${fmt(idle.at(-1).rss5s / 1e6, 1)} MB`);
    await stopChild(second.child, 12_000);
  }
  // The floor: a bare `node -e` that listens on a port, on the same machine, same moment.
  const floor = [];
  for (let r = 0; r < REPEATS; r++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', `require('net').createServer(s=>s.once('data',()=>s.write('<stream:features></stream:features>'))).listen(${port},'127.0.0.1')`], { stdio: 'ignore' });
    onCleanup(() => stopChild(child));
    await waitForFeatures(port, child);
    floor.push({ ms: performance.now() - t0, rss: rssOf(child.pid) });
    await stopChild(child);
  }
  table('Start-up to <stream:features> (spawn of `node …/cli.js run`)', ['start', 'ms', 'target'], [
    ['cold (new data dir: RSA identity + local CA made)', spread(cold), '—'],
    ['warm (existing data dir, 100 contacts)', spread(warm), '< 1000'],
    ['floor: bare `node -e` TCP listener', spread(floor.map((f) => f.ms)), ''],
    ['ratio warm / floor', fmt(warm.map((w, i) => w / floor[i].ms).sort((a, b) => a - b)[Math.floor(warm.length / 2)], 1), ''],
  ]);
  table('Idle RSS, 5 s after a warm start with 100 contacts', ['process', 'MB', 'target'], [
    ['gateway', spread(idle.map((x) => x.rss5s / 1e6), 1), '< 80'],
    ['floor: bare node listener', spread(floor.map((f) => f.rss / 1e6), 1), ''],
  ]);
  writeResult('startup', { coldMs: cold, warmMs: warm, idle, floor });
});
