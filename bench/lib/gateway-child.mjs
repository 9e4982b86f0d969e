// One real gateway in its own process (gateway/daemon.ts startGateway, compiled into bench/.build),
// driven by the benchmark over IPC: info, add a contact, wait until a peer is online, stop; for held.mjs also
// added local accounts, contacts in bulk, and the process's own figures (heap, event-loop delay).
// Usage (forked): gateway-child.mjs <dataDir>
// BENCH_GATEWAY_MAX_C2S=n: c2s.max_connections (default 256: more XMPP connections are closed at once).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { built, serveWorker, sleep } from './common.mjs';

const dataDir = process.argv[2];
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const { startGateway } = await built('gateway/daemon.js');
const { defaultConfig } = await built('gateway/config.js');

const { GroupCommit } = await built('gateway/store/group-commit.js');
// The store's group commits (one per store), so that figures() can tell how many writes one commit covered.
const groups = new Set();
const begin = GroupCommit.prototype.begin;
GroupCommit.prototype.begin = function (...args) {
  groups.add(this);
  return begin.apply(this, args);
};

const base = defaultConfig();
const config = {
  ...base,
  c2s: { ...base.c2s, host: '127.0.0.1', port: 0, ...(process.env.BENCH_GATEWAY_MAX_C2S && { max_connections: Number(process.env.BENCH_GATEWAY_MAX_C2S) }) },
  peer: { ...base.peer, host: '127.0.0.1', port: 0, advertise_host: '127.0.0.1', unknown_policy: 'accept' },
  websocket: { ...base.websocket, enabled: false },
  // Benchmarks measure the gateway, not Tor: never launch one ("auto" is the default).
  tor: { ...base.tor, mode: 'off' },
  log: { ...base.log, level: process.env.BENCH_GATEWAY_LOG ?? 'warn', format: 'json' },
  // BENCH_GATEWAY_FILES=1 (files.mjs): the upload listener on a free port, files up to 1 GiB.
  ...(process.env.BENCH_GATEWAY_FILES === '1' && {
    web: { ...base.web, port: 0 },
    files: { ...base.files, max_file_mb: 1024, quota_mb: 4096 },
  }),
};
const gw = await startGateway({ config, dataDir });
// BENCH_ALLOC=<dir>: a sampled profile of everything allocated (collected objects included: what the collector
// spends its time on), written at stop as Alloc.<pid>.heapprofile. Node's --heap-prof keeps only what is still alive.
const alloc = process.env.BENCH_ALLOC ? await startAllocationSampling(process.env.BENCH_ALLOC) : undefined;
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
/** The peer network of a local account (the default one when `account` is not given). */
function networkOf(account) {
  const net = account ? gw.server.users.get(account)?.network : gw.network;
  if (!net) throw new Error(`no account ${account}`);
  return net;
}

serveWorker(
  {
    info: () => {
      const s = gw.status();
      return {
        pid: process.pid,
        fingerprint: s.fingerprint,
        c2sPort: s.c2sPort,
        peerPort: s.peerPort,
        user: config.account.user,
        domain: config.account.domain,
        peerDomain: s.peerDomain,
        password: readFileSync(s.passwordFile, 'utf8').trim(),
      };
    },
    add: async ({ fingerprint, address }) => {
      await gw.network.addContact(fingerprint, { address, name: fingerprint.slice(0, 8) });
      return true;
    },
    waitOnline: async ({ fingerprint, timeoutMs = 20_000 }) => {
      const deadline = Date.now() + timeoutMs;
      while (!gw.network.getContact(fingerprint)?.online) {
        if (Date.now() > deadline) throw new Error(`peer ${fingerprint.slice(0, 12)} not online after ${timeoutMs} ms`);
        await sleep(20);
      }
      return true;
    },
    status: () => gw.status(),
    /** Another local account `<name>@<domain>`: its own identity, peer listener and password. */
    addAccount: async ({ name }) => {
      const a = await gw.accounts.add(name);
      return { jid: a.jid, user: a.name, fingerprint: a.fingerprint, peerPort: a.peerPort, password: readFileSync(a.passwordFile, 'utf8').trim() };
    },
    /** Contacts without an address (they dial us), in one request. */
    addContacts: async ({ account, fingerprints }) => {
      const net = networkOf(account);
      for (const fp of fingerprints) await net.addContact(fp, { name: fp.slice(0, 8) });
      return fingerprints.length;
    },
    /** How many contacts of `account` are online now. */
    onlineCount: ({ account }) => networkOf(account).listContacts().filter((c) => c.online).length,
    /** The process's own figures; the event-loop delay (ms) since the previous call. */
    figures: () => {
      const m = process.memoryUsage();
      const r = { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, eldP50Ms: eld.percentile(50) / 1e6, eldP99Ms: eld.percentile(99) / 1e6, eldMaxMs: eld.max / 1e6 };
      eld.reset();
      let sessions = 0;
      for (const u of gw.server.users.all()) sessions += u.router.all().length;
      const commits = [...groups].reduce((n, g) => n + g.stats.commits, 0);
      const runs = [...groups].reduce((n, g) => n + g.stats.runs, 0);
      return { ...r, sessions, commits, runs };
    },
    gc: () => (globalThis.gc?.(), Boolean(globalThis.gc)),
  },
  async () => {
    await alloc?.();
    await gw.stop();
  },
);

async function startAllocationSampling(dir) {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((res, rej) => session.post(method, params, (err, r) => (err ? rej(err) : res(r))));
  await post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await post('HeapProfiler.stopSampling');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `Alloc.${process.pid}.heapprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
process.send({ ready: true });
