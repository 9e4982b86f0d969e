// One real gateway in its own process (gateway/daemon.ts startGateway, compiled into bench/.build),
// driven by the benchmark over IPC: info, add a contact, wait until a peer is online, stop.
// Usage (forked): gateway-child.mjs <dataDir>
import { mkdirSync, readFileSync } from 'node:fs';
import { built, serveWorker, sleep } from './common.mjs';

const dataDir = process.argv[2];
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const { startGateway } = await built('gateway/daemon.js');
const { defaultConfig } = await built('gateway/config.js');

const base = defaultConfig();
const config = {
  ...base,
  c2s: { ...base.c2s, host: '127.0.0.1', port: 0 },
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
  },
  () => gw.stop(),
);
process.send({ ready: true });
