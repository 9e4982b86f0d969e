// tor.mode resolved at start ("auto": our own tor if installed, else a running tor's control port, else off
// with one notice), and what status says about Tor: running (offline tor, DisableNetwork kept) and stopped.
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../gateway/config.js';
import { startGateway } from '../../gateway/daemon.js';
import { offlineStatus } from '../../gateway/daemon/status.js';
import { welcomeText } from '../../gateway/daemon/welcome.js';
import { chooseTorMode } from '../../gateway/tor/mode.js';
import { ConfigError } from '../../gateway/xmpp/errors.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';
import { isAlive, waitUntil } from '../support/proc.js';

afterAll(removeTmpDirs);

const FREE = '[c2s]\nport = 0\n[peer]\nport = 0\n[websocket]\nenabled = false\n';

function capture(): { log: pino.Logger; lines: () => Array<Record<string, any>> } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

/** A directory holding an executable named `tor` that is not tor (chooseTorMode only looks). */
function pathWithFakeTor(): string {
  const dir = tmpDir('tlsim-fake-tor');
  writeFileSync(join(dir, 'tor'), '#!/bin/sh\nexit 1\n');
  chmodSync(join(dir, 'tor'), 0o755);
  return dir;
}

describe('tor.mode resolution', () => {
  const noTorPath = tmpDir('tlsim-empty-path');
  const tor = (extra = '') => parseConfigText(`[tor]\ncontrol = "${join(noTorPath, 'no-control')}"\n${extra}`).tor;

  it('auto: launch when a tor program is on PATH', async () => {
    const path = pathWithFakeTor();
    expect(await chooseTorMode(tor(), { path })).toEqual({ mode: 'launch', torPath: join(path, 'tor') });
  });

  it('auto: control when no tor program but the control endpoint answers', async () => {
    const sock = join(tmpDir('tlsim-ctl'), 'control');
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const t = parseConfigText(`[tor]\ncontrol = "${sock}"\n`).tor;
      expect(await chooseTorMode(t, { path: noTorPath })).toEqual({ mode: 'control', endpoint: { path: sock } });
    } finally {
      server.close();
    }
  });

  it('auto: off with a notice saying peers reach us only directly, when there is neither', async () => {
    const c = await chooseTorMode(tor(), { path: noTorPath });
    expect(c.mode).toBe('off');
    expect(c.notice).toMatch(/^Tor is not used: no tor program on PATH and no tor control port at .*no-control\. Peers can reach this gateway only directly/);
  });

  it('launch without a tor program fails at once, naming tor.mode; off and control are taken as given', async () => {
    const err = await chooseTorMode(tor('mode = "launch"\n'), { path: noTorPath }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^config tor\.mode: is "launch", but there is no tor program on PATH: install it/);
    expect(await chooseTorMode(tor('mode = "off"\n'), { path: pathWithFakeTor() })).toEqual({ mode: 'off' });
    expect((await chooseTorMode(parseConfigText('[tor]\nmode = "control"\ncontrol = "127.0.0.1:9051"\n').tor, { path: noTorPath })).endpoint).toEqual({
      host: '127.0.0.1',
      port: 9051,
    });
  });

  it('a gateway with auto and PATH without tor runs direct: one notice in the log, status and first-start text say so', async () => {
    const dataDir = tmpDir();
    const { log, lines } = capture();
    const config = parseConfigText(`${FREE}[tor]\ncontrol = "${join(noTorPath, 'no-control')}"\n`);
    const gw = await startGateway({ config, dataDir, log, tor: { path: noTorPath } });
    try {
      const s = gw.status();
      expect(s.tor).toMatchObject({ mode: 'off', state: 'off', bootstrap: null, onion: null });
      expect(s.tor.notice).toMatch(/Peers can reach this gateway only directly/);
      expect(s.share).toBe(`tlsim://${s.fingerprint}@127.0.0.1:${s.peerPort}`);
      expect(gw.network.selfInfo().transport).toBe('direct');
      expect(gw.tor).toBeUndefined();
      expect(existsSync(join(dataDir, 'onion-key.pem'))).toBe(false);
      const notices = lines().filter((l) => /Tor is not used/.test(l.msg));
      expect(notices).toHaveLength(1);
      expect(notices[0]!.level).toBe(40);
      expect(lines().find((l) => /^gateway started/.test(l.msg))!.msg).toMatch(/; Tor not used \(direct mode\)$/);
      const text = welcomeText({ status: s, config });
      expect(text).toContain('Peers can reach this gateway only directly');
      expect(text).toContain('Tor: not used (direct mode)');
    } finally {
      await gw.stop();
    }
  });

  it('status of a stopped gateway: mode from the config, state "stopped", the onion from the stored key', async () => {
    const dataDir = tmpDir();
    const config = parseConfigText(FREE);
    const before = await offlineStatus({ config, dataDir, configFile: null });
    expect(before.tor).toEqual({ mode: 'auto', state: 'stopped', bootstrap: null, onion: null, published: false, restarts: 0 });
    const { loadGatewayOnionKey } = await import('../../gateway/tor/gateway-tor.js');
    const key = await loadGatewayOnionKey(dataDir);
    const after = await offlineStatus({ config, dataDir, configFile: null });
    expect(after.tor.onion).toBe(`${key.serviceId}.onion`);
    const off = await offlineStatus({ config: parseConfigText(`${FREE}[tor]\nmode = "off"\n`), dataDir, configFile: null });
    expect(off.tor).toMatchObject({ mode: 'off', state: 'stopped', onion: null });
  });
});

interopSuite('a gateway with its own tor (kept offline: DisableNetwork 1)', ['tor'], () => {
  it('publishes nothing yet answers at once: status has the onion from our key, the state and bootstrap; the share string is the onion', async () => {
    const dataDir = tmpDir();
    const { log, lines } = capture();
    const config = parseConfigText(`${FREE}[tor]\nmode = "launch"\nvirtual_port = 4242\n`);
    const t0 = Date.now();
    const gw = await startGateway({ config, dataDir, log, tor: { network: false, bootstrapStallMs: 1_500 } });
    const startMs = Date.now() - t0;
    try {
      const s = gw.status();
      const onion = s.tor.onion!;
      expect(onion).toMatch(/^[a-z2-7]{56}\.onion$/);
      expect(s.share).toBe(`tlsim://${s.fingerprint}@${onion}:4242`);
      expect(gw.network.selfInfo().transport).toBe('tor');
      expect(s.tor.mode).toBe('launch');
      expect(['off', 'starting', 'bootstrapping']).toContain(s.tor.state);
      expect(s.tor.bootstrap).toMatchObject({ progress: expect.any(Number), summary: expect.any(String) });
      expect(statSync(join(dataDir, 'onion-key.pem')).mode & 0o777).toBe(0o600);
      // tor runs; offline it never bootstraps, and says so with tor's (our) reason.
      await waitUntil(() => gw.status().tor.bootstrap?.warning !== undefined, 15_000);
      const later = gw.status().tor;
      expect(later.state).toBe('bootstrapping');
      expect(later.bootstrap!.warning).toBe('the network is disabled (DisableNetwork 1)');
      expect(statSync(join(dataDir, 'tor')).mode & 0o777).toBe(0o700);
      expect(gw.tor!.service.pid).toBeGreaterThan(0);
      expect(lines().some((l) => l.level === 40 && /tor bootstrap made no progress/.test(l.msg))).toBe(true);
      // The onion address survives restarts: it is our key's.
      expect(`${(await import('../../gateway/tor/gateway-tor.js')).onionKeyPath(dataDir)}`).toBe(join(dataDir, 'onion-key.pem'));
      expect(await readFile(join(dataDir, 'onion-key.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    } finally {
      const pid = gw.tor?.service.pid;
      await gw.stop();
      if (pid) expect(isAlive(pid)).toBe(false);
    }
    // Not blocked on tor: the gateway (XMPP included) was up before tor did anything useful.
    expect(startMs).toBeLessThan(15_000);
  }, 60_000);
});
