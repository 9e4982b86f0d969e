// Launching and supervising our own tor (production code path, DisableNetwork kept 1: no network), and attaching to a running one (research/tor.md §0, §2.3).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TorControl } from '../../bridge-protocol/tor/control.js';
import { authenticate } from '../../bridge-protocol/tor/control-auth.js';
import { launchTor, torArguments } from '../../bridge-protocol/tor/launch.js';
import { addOnionKeyBlob, generateOnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { TorService, type TorExitInfo, type TorStatus, type TorWarning } from '../../bridge-protocol/tor/service.js';
import { closeServer, freePort, listenLocal } from '../support/net.js';
import { spawnProc, type Proc, isAlive } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

/** Resolves with the first value `check` returns, polling; rejects after `ms` with `what`. */
async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


interopSuite('tor launch and supervision (offline)', ['tor'], () => {
  let dir = '';
  const peer = net.createServer((s) => s.end());
  let peerPort = 0;
  const services: TorService[] = [];
  const procs: Proc[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsim-torlaunch-'));
    peerPort = await listenLocal(peer);
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(procs.map((p) => p.kill()));
    await closeServer(peer);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds the production command line: auto ports, cookie, owner pid, offline, no torrc', () => {
    const args = torArguments({ dataDir: '/d', extraOptions: [['TestingTorNetwork', '1']] });
    expect(args).toEqual(expect.arrayContaining(['--SocksPort', '127.0.0.1:auto ExtendedErrors OnionTrafficOnly', '--DisableNetwork', '1']));
    expect(args.slice(-2)).toEqual(['--TestingTorNetwork', '1']);
    expect(args[args.indexOf('--__OwningControllerProcess') + 1]).toBe(String(process.pid));
    expect(torArguments({ dataDir: '/d', onionTrafficOnly: false })).toContain('127.0.0.1:auto ExtendedErrors');
    expect(() => torArguments({ dataDir: '/d', extraOptions: [['Bad Option', '1']] })).toThrow(RangeError);
  });

  it('launches tor, takes ownership, and tor exits as soon as our control connection drops', async () => {
    const launched = await launchTor({ dataDir: join(dir, 'owned') });
    expect(launched.authMethod).toBe('SAFECOOKIE');
    const { control, process: tor } = launched;
    expect((await control.getConf(['__OwningControllerProcess'])).get('__OwningControllerProcess')).toEqual([]);
    expect((await control.getConf(['DisableNetwork'])).get('DisableNetwork')).toEqual(['1']);
    expect(await control.getInfoOne('net/listeners/socks')).toBe(''); // none while offline (tor.md pitfall 1)
    expect((await readFile(join(dir, 'owned', 'control-port'), 'utf8')).trim()).toMatch(/^PORT=127\.0\.0\.1:\d+$/);
    expect(tor.logTail.join('\n')).toContain('Bootstrapped 0%');
    control.destroy();
    const exit = await Promise.race([tor.exited, new Promise((r) => setTimeout(r, 20_000, 'still running'))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(isAlive(tor.pid)).toBe(false);
  });

  it('reports tor failing to start with what tor said', async () => {
    const err = await launchTor({ dataDir: join(dir, 'bad'), extraOptions: [['NoSuchOption', '1']] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited with code 1.*NoSuchOption/s);
  });

  it('TorService: onion added offline, bootstrap state reported, a stall warned about, kill -9 → exited → relaunched with the same onion', async () => {
    const key = generateOnionKey();
    const svc = new TorService({
      mode: 'launch',
      launch: { dataDir: join(dir, 'svc') },
      network: false,
      onion: { key, target: `127.0.0.1:${peerPort}` },
      bootstrapStallMs: 1_500,
      restart: { initialMs: 200, maxMs: 1_000 },
    });
    services.push(svc);
    const statuses: TorStatus[] = [];
    const warnings: TorWarning[] = [];
    const exits: TorExitInfo[] = [];
    svc.on('status', (s: TorStatus) => statuses.push(s));
    svc.on('warning', (w: TorWarning) => warnings.push(w));
    svc.on('exited', (e: TorExitInfo) => exits.push(e));
    expect(svc.status()).toMatchObject({ mode: 'launch', state: 'off', onion: `${key.serviceId}.onion` });

    await svc.start();
    expect(svc.status()).toMatchObject({ state: 'bootstrapping', bootstrap: { progress: 0, summary: 'Starting' } });
    expect(svc.status().socks).toBeUndefined();
    expect(statuses.map((s) => s.state)).toEqual(expect.arrayContaining(['starting', 'bootstrapping']));
    expect((await svc.control!.getInfoOne('onions/current')).split('\n')).toEqual([key.serviceId]);

    const stall = await eventually('a stall warning', 20_000, () => warnings.find((w) => w.source === 'bootstrap'));
    expect(stall.message).toMatch(/no progress for 2 s \(at 0%: Starting\).*DisableNetwork/);
    expect(svc.status().bootstrap.warning).toMatch(/DisableNetwork/);

    const firstPid = svc.pid!;
    process.kill(firstPid, 'SIGKILL');
    const exit = await eventually('exited', 20_000, () => exits[0]);
    expect(exit).toMatchObject({ signal: 'SIGKILL', reason: expect.stringContaining('killed by SIGKILL') });
    await eventually('relaunch', 60_000, () => (svc.status().state === 'bootstrapping' && svc.pid !== firstPid ? true : undefined));
    expect((await svc.control!.getInfoOne('onions/current')).split('\n')).toEqual([key.serviceId]);

    // A dropped control connection ends our owned tor at once (TAKEOWNERSHIP): same recovery.
    const secondPid = svc.pid!;
    svc.control!.destroy();
    const exit2 = await eventually('exit after the control connection dropped', 20_000, () => exits[1]);
    expect(exit2).toMatchObject({ code: 0, signal: null });
    await eventually('second relaunch', 60_000, () => (svc.status().state === 'bootstrapping' && svc.pid !== secondPid ? true : undefined));
    expect(await svc.control!.getInfoOne('onions/current')).toBe(key.serviceId);

    const thirdPid = svc.pid!;
    await svc.stop();
    expect(svc.status().state).toBe('off');
    expect(isAlive(thirdPid)).toBe(false);
    expect(exits).toHaveLength(2); // our own stop is not an "exit"
  });

  it("a stuck bootstrap is reported with tor's own words (authorities that refuse connections, loopback only)", async () => {
    const dead = await freePort();
    const fp = 'A'.repeat(40);
    const svc = new TorService({
      mode: 'launch',
      // Network on, but the only directory is a closed port on 127.0.0.1: tor cannot reach anything else.
      launch: { dataDir: join(dir, 'stuck'), extraOptions: [['TestingTorNetwork', '1'], ['DirAuthority', `dead orport=${dead} no-v2 v3ident=${fp} 127.0.0.1:${dead} ${fp}`]] },
      bootstrapStallMs: 3_000,
    });
    services.push(svc);
    const warnings: TorWarning[] = [];
    svc.on('warning', (w: TorWarning) => warnings.push(w));
    await svc.start();
    const stall = await eventually('a stall warning', 30_000, () => warnings.find((w) => /no progress/.test(w.message)));
    expect(stall.message).toMatch(/tor says: .*(refused|Connection)/i);
    expect(svc.status()).toMatchObject({ state: 'bootstrapping', bootstrap: { warning: expect.stringMatching(/refused|Connection/i) } });
    await svc.stop();
  });

  it("control mode: attaches to a running tor, adds a non-detached onion, and it goes with our connection", async () => {
    const dd = join(dir, 'system');
    const portFile = join(dir, 'system-control-port');
    const tor = await spawnProc('tor', [
      '--ignore-missing-torrc', '-f', join(dir, 'none'), '--DataDirectory', dd, '--DisableNetwork', '1',
      '--SocksPort', '0', '--ControlPort', '127.0.0.1:auto', '--ControlPortWriteToFile', portFile,
      '--CookieAuthentication', '1', '--__OwningControllerProcess', String(process.pid),
    ], { stdin: 'ignore' });
    procs.push(tor);
    const port = await eventually('control port', 30_000, async () => {
      const m = /PORT=127\.0\.0\.1:(\d+)/.exec(await readFile(portFile, 'utf8').catch(() => ''));
      return m ? Number(m[1]) : undefined;
    });
    const key = generateOnionKey();
    const svc = new TorService({
      mode: 'control',
      attach: { endpoint: { host: '127.0.0.1', port } },
      onion: { key, target: `127.0.0.1:${peerPort}`, virtualPort: 4242 },
    });
    services.push(svc);
    await svc.start();
    expect(svc.status()).toMatchObject({ mode: 'control', state: 'bootstrapping', onion: `${key.serviceId}.onion` });
    expect(svc.pid).toBeUndefined();
    expect(await svc.control!.getInfoOne('onions/current')).toBe(key.serviceId);
    // The connection drops (tor restarted, socket reset): we reconnect and add the onion again.
    const first = svc.control!;
    first.destroy();
    const again = await eventually('reconnected', 30_000, () => (svc.control && svc.control !== first && svc.status().state === 'bootstrapping' ? svc.control : undefined));
    expect(await again.getInfoOne('onions/current')).toBe(key.serviceId);
    await svc.stop();
    // Not detached: gone with our connection, so another controller may add the same key.
    const other = await TorControl.connect({ host: '127.0.0.1', port });
    await authenticate(other);
    expect((await other.addOnion({ key: addOnionKeyBlob(key), ports: [{ virt: 1, target: '9' }] })).serviceId).toBe(key.serviceId);
    other.destroy();
    expect(tor.exitInfo).toBeUndefined(); // not ours: attaching never stops it
  });
});
