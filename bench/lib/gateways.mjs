// Two real gateways (separate processes) linked over a tlsim link on loopback, each with its own
// data directory, plus a logged-in load client on each: A's user writes to B's peer JID.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, forkWorker, onCleanup } from './common.mjs';
import { XmppLoadClient } from './xmpp-load.mjs';

/**
 * opts.tmpfs: data directory on /dev/shm (fsync costs nothing there): an explanatory variant only.
 * opts.dataDir: start on that data directory again (removed at cleanup by whoever made it).
 * opts.execArgv: more node options for the gateway process (e.g. ['--expose-gc']).
 */
export async function startGateway(name, opts = {}) {
  const dir = opts.dataDir ?? mkdtempSync(join(opts.tmpfs ? '/dev/shm' : tmpdir(), `tlsim-bench-${name}-`));
  if (!opts.dataDir) onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  // BENCH_PROF=<dir>: each gateway process writes a V8 CPU profile there when it stops.
  const execArgv = [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), ...(opts.execArgv ?? [])];
  const w = forkWorker(join(BENCH_DIR, 'lib/gateway-child.mjs'), [dir], { execArgv, env: opts.env });
  await w.ready;
  const info = await w.request({ op: 'info' });
  return { ...info, dir, worker: w, stop: () => w.stop() };
}

export async function linkedGateways(opts = {}) {
  const [a, b] = await Promise.all([startGateway(`a${opts.tmpfs ? '-shm' : ''}`, opts), startGateway(`b${opts.tmpfs ? '-shm' : ''}`, opts)]);
  await a.worker.request({ op: 'add', fingerprint: b.fingerprint, address: `127.0.0.1:${b.peerPort}` });
  await b.worker.request({ op: 'add', fingerprint: a.fingerprint, address: `127.0.0.1:${a.peerPort}` });
  await a.worker.request({ op: 'waitOnline', fingerprint: b.fingerprint });
  await b.worker.request({ op: 'waitOnline', fingerprint: a.fingerprint });
  return { a, b };
}

export async function loginTo(gw, resource = 'bench') {
  const c = await XmppLoadClient.login({ port: gw.c2sPort, domain: gw.domain, user: gw.user, password: gw.password, resource });
  onCleanup(() => c.close());
  return c;
}
