#!/usr/bin/env node
// XEP-0313 page queries over an archive of 1 M messages: the gateway (its SQLite archive, schema v3)
// against Prosody's mod_mam (storage "sql" on SQLite, Debian's lua-dbi-sqlite3) in the same run, the
// same archive written directly into each database (a year of history with 10 peers), the same client.
// Shapes: the last page (<before/>), with + start (a peer's first page from a day half a year back),
// after-id (the page after a message in the middle). Queries interleaved gateway/Prosody; p50/p99 of
// the time from sending the iq to its result (all 50 results received first).
// Usage: node bench/mam.mjs (build first: npx tsc -p bench/tsconfig.json); BENCH_QUICK=1: 200 k messages.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { QUICK, REPEATS, built, fmt, main, onCleanup, summary, table, writeResult } from './lib/common.mjs';
import { startGateway } from './lib/gateways.mjs';
import { XmppLoadClient, escapeXml } from './lib/xmpp-load.mjs';

const N = Number(process.env.BENCH_MAM_MESSAGES ?? (QUICK ? 200_000 : 1_000_000));
const PEERS = 10;
const PAGE = 50;
const QUERIES = QUICK ? 60 : 150; // per shape and server, per repeat
const YEAR = 365 * 24 * 3600 * 1000;
const PASSWORD = 'bench-password-1';
const peerFp = (i) => i.toString(16).padStart(2, '0').repeat(32);
const textOf = (i) => `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}`.trim();

function ensureLuaDbi() {
  const ok = () => spawnSync('dpkg-query', ['-W', '-f=${Status}', 'lua-dbi-sqlite3'], { encoding: 'utf8' }).stdout.includes('install ok installed');
  if (ok()) return;
  console.log('installing lua-dbi-sqlite3 (Prosody\'s SQLite driver)…');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'lua-dbi-sqlite3'], { stdio: 'inherit' });
  if (r.status !== 0 || !ok()) throw new Error('lua-dbi-sqlite3 is needed for Prosody storage = "sql": apt-get install lua-dbi-sqlite3');
}

/** Message i of the archive: peer, direction, stamp (a year up to now, evenly), text. */
function row(i, t0) {
  return { fp: peerFp(i % PEERS), out: i % 2 === 1, stamp: t0 + Math.floor((i * YEAR) / N), text: textOf(i) };
}

/** Bulk load: the table's indexes dropped, the rows written in one transaction, the indexes made again. */
function bulk(db, table, fill) {
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -200000');
  for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);
  const out = db.transaction(fill)();
  for (const i of indexes) db.exec(i.sql);
  return out;
}

function fillGateway(dbFile, t0) {
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  const acc = db.prepare("SELECT id FROM accounts WHERE jid = 'me@localhost'").get().id;
  const ins = db.prepare('INSERT INTO archive (account_id, fingerprint, direction, text, stamp, stanza_id) VALUES (?, ?, ?, ?, ?, ?)');
  const ids = [];
  bulk(db, 'archive', () => {
    for (let i = 0; i < N; i++) {
      const r = row(i, t0);
      const id = randomUUID();
      if (i === N / 2) ids.push(id);
      ins.run(acc, r.fp, r.out ? 'out' : 'in', r.text, r.stamp, id);
    }
  });
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return ids[0];
}

function fillProsody(dbFile, t0, domain, peerDomain) {
  const owner = statSync(dbFile);
  const db = new Database(dbFile);
  const ins = db.prepare('INSERT INTO prosodyarchive (host, user, store, key, "when", "with", type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const me = `me@${domain}`;
  let middle;
  bulk(db, 'prosodyarchive', () => {
    for (let i = 0; i < N; i++) {
      const r = row(i, t0);
      const peer = `${r.fp}@${peerDomain}`;
      const key = randomUUID();
      if (i === N / 2) middle = key;
      const [from, to] = r.out ? [me, peer] : [`${peer}/tlsim`, me];
      const xml = `<message xmlns='jabber:client' type='chat' from='${from}' to='${to}'><body>${escapeXml(r.text)}</body></message>`;
      ins.run(domain, 'me', 'archive', key, Math.floor(r.stamp / 1000), peer, 'xml', xml);
    }
  });
  db.close();
  chownSync(dbFile, owner.uid, owner.gid);
  return middle;
}

/** One query: send the iq, wait for its result; returns ms and how many results came. */
async function query(c, xml) {
  // The load client's message scanner is for chat; here the whole text up to the iq result is wanted.
  c.online = false;
  const id = `q${randomUUID()}`;
  const t = performance.now();
  c.socket.write(`<iq type='set' id='${id}'><query xmlns='urn:xmpp:mam:2' queryid='${id}'>${xml}</query></iq>`);
  const reply = await c.until(new RegExp(`<iq[^>]*id=["']${id}["'][\\s\\S]*?</iq>`), 60_000);
  const ms = performance.now() - t;
  const iq = reply.slice(reply.lastIndexOf('<iq'));
  if (!/type=["']result["']/.test(iq)) throw new Error(`query failed: ${iq.slice(0, 400)}`);
  return { ms, results: (reply.match(/<result[\s>]/g) ?? []).length };
}

const form = (fields) =>
  `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>${Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join('')}</x>`;

await main(async () => {
  ensureLuaDbi();
  const t0 = Date.now() - YEAR;
  const { startProsody } = await built('test/support/prosody.js');

  // The gateway: its data directory made by a first start (schema v3, the account), then filled.
  let gw = await startGateway('mam');
  const dataDir = gw.dir;
  await gw.stop();
  let t = performance.now();
  const gwMiddle = fillGateway(join(dataDir, 'gateway.db'), t0);
  const fillGwMs = performance.now() - t;
  gw = await startGateway('mam', { dataDir });
  const gwClient = await XmppLoadClient.login({ port: gw.c2sPort, domain: gw.domain, user: gw.user, password: gw.password });
  onCleanup(() => gwClient.close());

  const prosody = await startProsody({
    users: { me: PASSWORD },
    logLevel: process.env.BENCH_PROSODY_LOG ?? 'warn',
    extraConfig: `
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "mam", "websocket" }
modules_disabled = { "offline", "posix" }
max_archive_query_results = ${PAGE}
-- Expiry on (far away) so mod_mam counts results, as the gateway does.
archive_expires_after = "5y"
`,
  });
  onCleanup(() => prosody.stop());
  const prosodyDb = join(prosody.dir, 'data', 'prosody.sqlite');
  // A first login creates the archive table (mod_storage_sql makes its tables when loaded).
  const warm = await XmppLoadClient.login({ port: prosody.c2sPort, domain: prosody.domain, user: 'me', password: PASSWORD });
  await query(warm, `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>`);
  warm.close();
  t = performance.now();
  const prMiddle = fillProsody(prosodyDb, t0, prosody.domain, 'peers.localhost');
  const fillPrMs = performance.now() - t;
  const prClient = await XmppLoadClient.login({ port: prosody.c2sPort, domain: prosody.domain, user: 'me', password: PASSWORD });
  onCleanup(() => prClient.close());
  console.log(`archives of ${fmt(N)} messages written: gateway ${fmt(fillGwMs / 1000, 1)} s, Prosody ${fmt(fillPrMs / 1000, 1)} s`);

  const rsm = (inner) => `<set xmlns='http://jabber.org/protocol/rsm'><max>${PAGE}</max>${inner}</set>`;
  const start = new Date(t0 + YEAR / 2).toISOString().replace(/\.\d+Z$/, 'Z');
  const shapes = {
    'last page': () => rsm('<before/>'),
    'with + start': (domain) => form({ with: `${peerFp(3)}@peers.localhost`, start }) + rsm(''),
    'after-id': (_d, middle) => rsm(`<after>${middle}</after>`),
  };
  const targets = [
    { name: 'gateway', client: gwClient, domain: gw.domain, middle: gwMiddle },
    { name: 'Prosody', client: prClient, domain: prosody.domain, middle: prMiddle },
  ];
  const samples = Object.fromEntries(Object.keys(shapes).map((s) => [s, { gateway: [], Prosody: [] }]));
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const [shape, make] of Object.entries(shapes)) {
      for (const tg of targets) for (let i = 0; i < 5; i++) await query(tg.client, make(tg.domain, tg.middle)); // warm caches
      for (let i = 0; i < QUERIES; i++) {
        for (const tg of targets) {
          const r = await query(tg.client, make(tg.domain, tg.middle));
          if (r.results !== PAGE) throw new Error(`${tg.name} ${shape}: ${r.results} results, expected ${PAGE}`);
          samples[shape][tg.name].push(r.ms);
        }
      }
    }
  }
  const rows = [];
  const out = {};
  for (const [shape, s] of Object.entries(samples)) {
    const g = summary(s.gateway);
    const p = summary(s.Prosody);
    out[shape] = { gateway: g, prosody: p, ratioP50: g.p50 / p.p50, ratioP99: g.p99 / p.p99 };
    rows.push([shape, `${fmt(g.p50, 2)} / ${fmt(g.p99, 2)}`, `${fmt(p.p50, 2)} / ${fmt(p.p99, 2)}`, fmt(g.p50 / p.p50, 2), fmt(g.p99 / p.p99, 2)]);
  }
  table(
    `MAM page of ${PAGE} over ${fmt(N)} messages (${REPEATS}×${QUERIES} queries per shape; ms; ratio < 1: the gateway is faster)`,
    ['shape', 'gateway p50 / p99', 'Prosody p50 / p99', 'ratio p50', 'ratio p99'],
    rows,
  );
  writeResult('mam', { messages: N, page: PAGE, queries: QUERIES, repeats: REPEATS, fill: { gatewayMs: fillGwMs, prosodyMs: fillPrMs }, shapes: out });
});
