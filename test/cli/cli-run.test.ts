// The real `tlsim-gateway` program (built once into a private directory) run as users and scripts run it:
// run on free ports, status from a live gateway, peer commands through the control socket, an XMPP login,
// one gateway per data directory, a busy port named with its flag, SIGHUP and a clean SIGTERM.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XmppJsClient } from '../../clients/xmppjs/client.js';
import { cliHome as home, runToEnd, useBuiltCli, type CliHome, type RunResult } from '../support/cli-program.js';
import { tmpDir } from '../support/identities.js';
import { closeServer, connectTcp, listenLocal } from '../support/net.js';
import { killAll, spawnProc, type Proc } from '../support/proc.js';

const CLI = useBuiltCli('run');
const T = 60_000;
const FREE_PORTS = ['--c2s-port', '0', '--peer-port', '0', '--websocket-port', '0'];
const PEER_FP = 'ab'.repeat(32);
const OTHER_FP = 'cd'.repeat(32);

function cli(h: CliHome, args: string[]): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { env: h.env, timeout: T });
}

async function startRun(h: CliHome, extra: string[] = []): Promise<Proc> {
  const p = await spawnProc(process.execPath, [CLI, 'run', ...FREE_PORTS, ...extra], { env: h.env, stdin: 'ignore' });
  await p.waitFor(/"msg":"gateway started/, T);
  return p;
}

async function statusOf(h: CliHome): Promise<Record<string, any>> {
  const r = await cli(h, ['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

afterAll(async () => {
  await killAll();
});

describe('tlsim-gateway run', () => {
  const h = home();
  let gw: Proc;

  beforeAll(async () => {
    gw = await startRun(h);
  }, T);

  it('not on a terminal: standard output stays empty, the log is JSON lines on standard error, the first start is one log line without the password', async () => {
    await gw.waitFor(/"firstStart":true/, T, { stream: 'stderr' });
    expect(gw.output('stdout')).toBe('');
    const lines = gw.output('stderr').split('\n').filter((l) => l !== '');
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const first = lines.map((l) => JSON.parse(l)).find((o) => o.firstStart);
    expect(first).toMatchObject({ jid: 'me@localhost', passwordFile: join(h.dataDir, 'xmpp-password') });
    expect(first.share).toMatch(/^tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:\d+$/);
    const password = (await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim();
    expect(gw.output()).not.toContain(password);
  });

  it('status --json shows it running with the ports it really bound', async () => {
    const s = await statusOf(h);
    expect(s).toMatchObject({ running: true, pid: gw.pid, jid: 'me@localhost', peerDomain: 'peers.localhost', tor: { mode: 'off', state: 'off' } });
    for (const k of ['c2sPort', 'peerPort', 'websocketPort']) expect(s[k]).toBeGreaterThan(0);
    expect(s.share).toBe(`tlsim://${s.fingerprint}@127.0.0.1:${s.peerPort}`);
    const runtime = JSON.parse(await readFile(join(h.dataDir, 'runtime.json'), 'utf8'));
    expect(runtime).toMatchObject({ pid: gw.pid, c2sPort: s.c2sPort, peerPort: s.peerPort, websocketPort: s.websocketPort });
    expect(statSync(join(h.dataDir, 'runtime.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(h.dataDir, 'control.sock')).mode & 0o777).toBe(0o600);
    expect((await cli(h, ['share'])).stdout).toBe(`${s.share}\n`);
  });

  it('answers a TCP connection on c2sPort with a stream header', async () => {
    const { c2sPort } = await statusOf(h);
    const sock = await connectTcp(c2sPort);
    try {
      const header = new Promise<string>((resolve) => {
        let buf = '';
        sock.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('<stream:features')) resolve(buf);
        });
      });
      sock.write(`<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
      expect(await header).toMatch(/<stream:stream [^>]*from=['"]localhost['"]/);
    } finally {
      sock.destroy();
    }
  });

  it('peer add/list/remove go to the live gateway, and an XMPP client logs in and sees the contact', async () => {
    const s = await statusOf(h);
    const add = await cli(h, ['peer', 'add', `tlsim://${PEER_FP}@127.0.0.1:9`, 'Bob Smith']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/Added Bob Smith/);
    const list = await cli(h, ['peer', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: PEER_FP, name: 'Bob Smith', state: 'contact', address: '127.0.0.1:9' })]);

    const client = new XmppJsClient({
      service: `xmpp://127.0.0.1:${s.c2sPort}`,
      domain: 'localhost',
      username: 'me',
      password: (await readFile(s.passwordFile, 'utf8')).trim(),
      ca: await readFile(s.caCertFile, 'utf8'),
    });
    try {
      expect(await client.start()).toMatch(/^me@localhost\//);
      expect(client.tlsUpgraded).toBe(true);
      await client.ping('localhost');
      expect(await client.roster()).toContainEqual(expect.objectContaining({ jid: `${PEER_FP}@peers.localhost`, name: 'Bob Smith' }));
    } finally {
      await client.stop();
    }

    const rename = await cli(h, ['peer', 'rename', 'Bob Smith', 'Robert']);
    expect(rename.code, rename.stderr).toBe(0);
    const remove = await cli(h, ['peer', 'remove', 'Robert']);
    expect(remove.code, remove.stderr).toBe(0);
    expect(JSON.parse((await cli(h, ['peer', 'list', '--json'])).stdout)).toEqual([]);
    const missing = await cli(h, ['peer', 'remove', 'Robert']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).not.toBe('');
  }, T);

  it('refuses a second gateway on the same data directory, naming the running one', async () => {
    const second = await cli(h, ['run', ...FREE_PORTS]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another tlsim-gateway (PID ${gw.pid}) is using this data directory`);
    const imp = await cli(h, ['import-identity', '--key', join(h.dataDir, 'key.pem'), '--cert', join(h.dataDir, 'cert.pem')]);
    expect(imp.code).toBe(1);
    expect(imp.stderr).toMatch(/is running .*stop it before importing/);
  }, T);

  it('reloads on SIGHUP and keeps running', async () => {
    const mark = gw.mark();
    gw.signal('SIGHUP');
    await gw.waitFor(/config and TLS certificate reloaded/, T, { since: mark });
    expect((await statusOf(h)).running).toBe(true);
  }, T);

  it('stops cleanly on SIGTERM: streams closed, exit code 0, lock, runtime file and control socket gone', async () => {
    const sock = await connectTcp((await statusOf(h)).c2sPort);
    let received = '';
    const ended = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('data', (d: Buffer) => (received += d.toString()));
    sock.on('error', () => {});
    sock.write(`<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
    await expect.poll(() => received, { timeout: T }).toContain('<stream:features');
    gw.signal('SIGTERM');
    await ended;
    expect(received).toMatch(/<system-shutdown[^>]*\/>[\s\S]*<\/stream:stream>/);
    const exit = await gw.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(gw.output()).toMatch(/"msg":"gateway stopped"/);
    for (const f of ['gateway.pid', 'runtime.json', 'control.sock']) expect(existsSync(join(h.dataDir, f)), f).toBe(false);
    expect((await statusOf(h)).running).toBe(false);
  }, T);
});

describe('tlsim-gateway run: where its output goes', () => {
  it('on a terminal (a real pty, by script(1)): the first-start help with the password on standard output, pretty log lines, no JSON', async () => {
    const h = home();
    const cmd = [process.execPath, CLI, 'run', ...FREE_PORTS].map((a) => `'${a}'`).join(' ');
    const p = await spawnProc('script', ['-qfec', cmd, '/dev/null'], { env: { ...h.env, TERM: 'dumb' }, stdin: 'pipe' });
    try {
      await p.waitFor(/your share string works on this network only/, T);
      await p.waitFor(/gateway started/, T);
      const password = (await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim();
      const out = p.output('stdout');
      expect(out).toContain('Your XMPP account: me@localhost');
      expect(out).toContain(`Password:          ${password}`);
      expect(out).toMatch(/Protocol XMPP, Username me, Domain localhost/);
      expect(out).toMatch(/Your share string: tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:\d+/);
      expect(out).toMatch(/INFO.*gateway started/);
      expect(out).not.toContain('{"level"');
    } finally {
      p.signal('SIGTERM');
      await p.kill();
    }
  }, T);

  it('under systemd (standard error is the journal): every line starts with its priority, warn as <4>, info as <6>', async () => {
    const h = home();
    const dir = tmpDir('journal');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'journal-stream');
    const fd = openSync(file, 'w');
    const st = fstatSync(fd);
    // A journal stream is known by its device and inode; a file stands in for journald's socket.
    const child = spawn(process.execPath, [CLI, 'run', ...FREE_PORTS, '--log-level', 'info'], {
      env: { ...h.env, JOURNAL_STREAM: `${st.dev}:${st.ino}`, NODE_OPTIONS: '' },
      stdio: ['ignore', 'ignore', fd],
    });
    closeSync(fd);
    try {
      await expect.poll(() => readFileSync(file, 'utf8'), { timeout: T, interval: 200 }).toMatch(/"msg":"gateway started/);
      const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
      for (const l of lines) expect(l, l).toMatch(/^<[2-7]>\{"level":\d+/);
      expect(lines.find((l) => l.includes('gateway started'))).toMatch(/^<6>/);
      // Started without the OpenSSL settings on purpose: the warning about it is a warning in the journal.
      expect(lines.find((l) => l.includes('"level":40'))).toMatch(/^<4>/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }, T);
});

describe('tlsim-gateway run: failures and take-over', () => {
  let busy: Server | undefined;
  afterAll(async () => {
    if (busy) await closeServer(busy);
  });

  it('names the busy port, its flag and its config key', async () => {
    busy = createServer();
    const port = await listenLocal(busy);
    const h = home();
    const r = await cli(h, ['run', ...FREE_PORTS, '--c2s-port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/already in use.*--c2s-port <port> or c2s\.port/);
    expect(existsSync(join(h.dataDir, 'gateway.pid'))).toBe(false);
  }, T);

  it('takes over a lock left by a dead process, and sees contacts added while it was stopped', async () => {
    const h = home();
    const add = await cli(h, ['peer', 'add', OTHER_FP, '127.0.0.1', '9', 'Carol']);
    expect(add.code, add.stderr).toBe(0);
    const dead = await spawnProc(process.execPath, ['-e', ''], { stdin: 'ignore' });
    await dead.exited;
    mkdirSync(h.dataDir, { recursive: true });
    writeFileSync(join(h.dataDir, 'gateway.pid'), `${dead.pid}\n`);
    const gw = await startRun(h);
    const list = await cli(h, ['peer', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: OTHER_FP, name: 'Carol', address: '127.0.0.1:9' })]);
    expect((await readFile(join(h.dataDir, 'gateway.pid'), 'utf8')).trim()).toBe(String(gw.pid));
    gw.signal('SIGTERM');
    expect((await gw.exited).code).toBe(0);
  }, T);
});
