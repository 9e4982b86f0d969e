// Benchmark — files: chat between two gateways while a large file crosses the SAME link (XEP-0363 upload on A,
// sent to B's user, chunked over the link with its window; chat frames go first), against the same chat load on
// the idle link, interleaved (idle, file, idle, file, …). Figures: chat p99 with the file / p99 idle (target: close
// to 1, the file must not hold chat up), and the file's throughput over the link.
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { QUICK, REPEATS, fmt, machine, main, median, spread, table, writeResult, sleep } from './lib/common.mjs';
import { linkedGateways, loginTo } from './lib/gateways.mjs';
import { messageMix, mixStats } from './lib/messages.mjs';
import { runLoad } from './lib/xmpp-load.mjs';

const MIB = 1024 * 1024;
const FILE_BYTES = (QUICK ? 32 : 128) * MIB;
const RATE = 200;
const N = QUICK ? 600 : 1200;

/** XEP-0363 as a client does it: a slot from upload.<domain>, then one PUT; resolves with the GET URL. */
async function upload(client, domain, bytes) {
  const id = `up${Date.now()}`;
  client.socket.write(`<iq type='get' id='${id}' to='upload.${domain}'><request xmlns='urn:xmpp:http:upload:0' filename='bench.bin' size='${bytes.length}' content-type='application/octet-stream'/></iq>`);
  const reply = await client.until(new RegExp(`<iq[^>]*id=["']${id}["'][\\s\\S]*?</iq>`));
  const put = /<put[^>]*url=["']([^"']+)["']/.exec(reply)?.[1];
  if (!put) throw new Error(`no upload slot: ${reply}`);
  const url = new URL(put.replace(/&amp;/g, '&'));
  await new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', rejectUnauthorized: false, timeout: 120_000, headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length } },
      (res) => (res.resume(), res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`PUT ${res.statusCode}`))))),
    );
    req.on('error', reject).on('timeout', () => req.destroy(new Error('PUT timed out')));
    req.end(bytes);
  });
  return url.toString();
}

/** Resolves with the ms until B's store holds a new complete file of `size` bytes. */
async function stored(dir, size, known, t0, timeoutMs = 180_000) {
  const uploads = join(dir, 'uploads');
  for (;;) {
    const done = readdirSync(uploads).find((f) => !f.endsWith('.part') && !known.has(f) && statSync(join(uploads, f)).size === size);
    if (done) return (known.add(done), performance.now() - t0);
    if (performance.now() - t0 > timeoutMs) throw new Error(`the file did not arrive within ${timeoutMs} ms`);
    await sleep(20);
  }
}

await main(async () => {
  console.log(`files: ${REPEATS} repeats; chat ${RATE} msgs/s × ${N}; file ${FILE_BYTES / MIB} MiB`, machine());
  const texts = messageMix(N);
  console.log('message mix:', mixStats(texts));
  const { a, b } = await linkedGateways({ env: { BENCH_GATEWAY_FILES: '1' } });
  const ga = await loginTo(a);
  const gb = await loginTo(b);
  const toJid = `${b.fingerprint}@${a.peerDomain}`;
  const bytes = Buffer.alloc(FILE_BYTES, 7);
  const known = new Set();
  let seq = 0;
  const chat = async () => {
    const r = await runLoad({ sender: ga, receiver: gb, toJid, texts, rate: RATE, maxMs: 60_000, seqBase: seq });
    seq += 1_000_000;
    return r;
  };
  await runLoad({ sender: ga, receiver: gb, toJid, texts: texts.slice(0, 200), rate: 100, maxMs: 20_000, seqBase: 9_000_000 });
  const idle = [];
  const loaded = [];
  const fileMs = [];
  for (let r = 0; r < REPEATS; r++) {
    idle.push(await chat());
    const url = await upload(ga, a.domain, bytes);
    const t0 = performance.now();
    ga.send(toJid, url);
    const arrived = stored(b.dir, FILE_BYTES, known, t0);
    loaded.push(await chat());
    fileMs.push(await arrived);
    const i = idle.at(-1);
    const l = loaded.at(-1);
    console.log(`  repeat ${r + 1}: idle p50 ${fmt(i.p50, 1)} p99 ${fmt(i.p99, 1)} ms; with the file p50 ${fmt(l.p50, 1)} p99 ${fmt(l.p99, 1)} ms lost ${l.lost}; file ${fmt(FILE_BYTES / MIB / (fileMs.at(-1) / 1000), 1)} MiB/s (${fmt(fileMs.at(-1) / 1000, 1)} s, chat load ${fmt(l.sendSeconds, 1)} s)`);
  }
  const col = (rs, key, d = 1) => spread(rs.map((x) => x[key]), d);
  table('Chat A → B at a fixed rate (median of repeats, (min–max))', ['link', 'p50 ms', 'p99 ms', 'max ms', 'lost'], [
    ['idle', col(idle, 'p50'), col(idle, 'p99'), col(idle, 'max'), col(idle, 'lost', 0)],
    [`a ${FILE_BYTES / MIB} MiB file crossing it`, col(loaded, 'p50'), col(loaded, 'p99'), col(loaded, 'max'), col(loaded, 'lost', 0)],
  ]);
  const ratios = {
    p99WithFileOverIdle: median(loaded.map((l, i) => l.p99 / idle[i].p99)),
    fileMiBPerSec: median(fileMs.map((ms) => FILE_BYTES / MIB / (ms / 1000))),
  };
  table('Figures', ['figure', 'value', 'target'], [
    ['chat p99 with the file / idle (same run, per repeat)', fmt(ratios.p99WithFileOverIdle, 2), 'close to 1'],
    ['file over the link, MiB/s', fmt(ratios.fileMiBPerSec, 1), ''],
  ]);
  writeResult('files', { fileBytes: FILE_BYTES, rate: RATE, n: N, idle, loaded, fileMs, ratios });
});
