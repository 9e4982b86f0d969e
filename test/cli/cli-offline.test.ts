// The real `tlsim-gateway` program with no gateway running: init, status from disk, exit codes and help,
// config mistakes named, peer commands on the stored contacts, and importing an openssl-made identity.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliHome as home, runToEnd, useBuiltCli, type CliHome, type RunResult } from '../support/cli-program.js';
import { makeOpensslIdentity, tmpDir } from '../support/identities.js';

const CLI = useBuiltCli('offline');
const T = 60_000;
const STATUS_KEYS = [
  'fingerprint', 'share', 'jid', 'passwordFile', 'c2sPort', 'peerPort', 'peerDomain', 'tor',
  'running', 'pid', 'websocketPort', 'dataDir', 'configFile', 'caCertFile', 'online', 'queued',
];

function cli(h: CliHome, args: string[]): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { env: h.env, timeout: T });
}

const mode = (f: string): number => statSync(f).mode & 0o777;

describe('help and exit codes', () => {
  const h = home();

  it('--help on every command exits 0 with its usage', async () => {
    for (const args of [['--help'], ['help'], ['run', '--help'], ['init', '--help'], ['status', '--help'], ['share', '--help'], ['peer', '--help'], ['import-identity', '--help']]) {
      const r = await cli(h, args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^usage: tlsim-gateway/);
      expect(r.stdout).toContain('--data-dir');
    }
    expect(existsSync(h.dataDir)).toBe(false);
  }, T);

  it('usage mistakes exit 2 with the usage on stderr', async () => {
    for (const args of [['frobnicate'], ['status', '--bogus'], ['peer'], ['peer', 'frob'], ['peer', 'rename', 'x'], ['import-identity', '--key', 'k']]) {
      const r = await cli(h, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage: tlsim-gateway/);
    }
  }, T);
});

describe('tlsim-gateway init and status when stopped', () => {
  const h = home();

  it('status --json before anything exists has every key and creates nothing', async () => {
    const r = await cli(h, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    for (const k of STATUS_KEYS) expect(s, k).toHaveProperty(k);
    expect(s).toMatchObject({ running: false, pid: null, fingerprint: null, share: null, c2sPort: 5222, peerPort: 18765, websocketPort: 5280 });
    expect(existsSync(h.dataDir)).toBe(false);
  }, T);

  it('init makes the identity (0600), the password, the TLS material and a commented config', async () => {
    const r = await cli(h, ['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(h.dataDir)).toBe(0o700);
    for (const f of ['key.pem', 'cert.pem', 'xmpp-password']) expect(mode(join(h.dataDir, f)), f).toBe(0o600);
    expect((await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim()).toMatch(/^\S{20,}$/);
    expect(existsSync(join(h.dataDir, 'tls', 'ca.pem'))).toBe(true);
    const toml = await readFile(h.configFile, 'utf8');
    expect(toml).toMatch(/^# tlsim-gateway configuration/);
    expect(toml).toContain('[c2s]');
    expect(r.stdout).toMatch(/created +peer identity/);
    expect(r.stdout).toContain('Your XMPP account: me@localhost');
    expect(r.stdout).toContain('Tor: not used (direct mode): peers reach this gateway at 127.0.0.1:18765');

    const again = await cli(h, ['init']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/kept +peer identity/);
    expect(again.stdout).toMatch(/kept +config file/);
  }, T);

  it('status --json when stopped reads config, identity and store', async () => {
    const s = JSON.parse((await cli(h, ['status', '--json'])).stdout);
    for (const k of STATUS_KEYS) expect(s, k).toHaveProperty(k);
    expect(s.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(s).toMatchObject({
      running: false,
      share: `tlsim://${s.fingerprint}@127.0.0.1:18765`,
      jid: 'me@localhost',
      passwordFile: join(h.dataDir, 'xmpp-password'),
      peerDomain: 'peers.localhost',
      dataDir: h.dataDir,
      configFile: h.configFile,
      caCertFile: join(h.dataDir, 'tls', 'ca.pem'),
      tor: { mode: 'off', state: 'stopped', bootstrap: null, onion: null },
      online: 0,
      queued: 0,
    });
    // Flags change what a start would use, and so what status reports.
    expect(JSON.parse((await cli(h, ['status', '--json', '--peer-port', '4000'])).stdout).share).toBe(`tlsim://${s.fingerprint}@127.0.0.1:4000`);
    expect((await cli(h, ['share'])).stdout).toBe(`${s.share}\n`);
  }, T);

  it('peer commands work on the stored contacts while stopped', async () => {
    const fp = 'ef'.repeat(32);
    expect((await cli(h, ['peer', 'add', fp, '127.0.0.1', '9', 'Dave'])).code).toBe(0);
    expect(JSON.parse((await cli(h, ['peer', 'list', '--json'])).stdout)).toEqual([
      expect.objectContaining({ id: fp, name: 'Dave', state: 'contact', online: false }),
    ]);
    expect((await cli(h, ['peer', 'block', 'Dave'])).code).toBe(0);
    expect(JSON.parse((await cli(h, ['peer', 'list', '--json'])).stdout)[0].state).toBe('blocked');
    expect((await cli(h, ['peer', 'unblock', 'Dave'])).code).toBe(0);
    expect((await cli(h, ['peer', 'remove', 'Dave'])).code).toBe(0);
    expect((await cli(h, ['peer', 'list'])).stdout).toMatch(/No contacts yet/);
    const bad = await cli(h, ['peer', 'add', 'tlsim://nothex@host:1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).not.toBe('');
  }, T);
});

describe('config mistakes', () => {
  it('a bad key in the config file fails, naming the key', async () => {
    const h = home();
    await mkdir(join(h.root, 'config', 'tlsim-gateway'), { recursive: true });
    writeFileSync(h.configFile, '[c2s]\nprot = 5222\n');
    for (const cmd of [['run'], ['status']]) {
      const r = await cli(h, cmd);
      expect(r.code, cmd[0]).toBe(1);
      expect(r.stderr).toMatch(/c2s\.prot.*did you mean c2s\.port/);
    }
  }, T);

  it('a bad flag value fails, naming the key and the flag', async () => {
    const r = await cli(home(), ['status', '--c2s-port', '99999']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/c2s\.port.*--c2s-port/);
  }, T);
});

describe('tlsim-gateway import-identity', () => {
  it('keeps the fingerprint of an openssl-made identity, and replaces a different one only with --force', async () => {
    const h = home();
    const made = tmpDir('tlsim-ident');
    const id = await makeOpensslIdentity(made);
    const r = await cli(h, ['import-identity', '--key', id.keyFile, '--cert', id.certFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(id.fingerprint);
    expect(mode(join(h.dataDir, 'key.pem'))).toBe(0o600);
    expect(JSON.parse((await cli(h, ['status', '--json'])).stdout).fingerprint).toBe(id.fingerprint);

    const other = await makeOpensslIdentity(made, { name: 'other' });
    const refused = await cli(h, ['import-identity', '--key', other.keyFile, '--cert', other.certFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--force');
    const forced = await cli(h, ['import-identity', '--key', other.keyFile, '--cert', other.certFile, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse((await cli(h, ['status', '--json'])).stdout).fingerprint).toBe(other.fingerprint);
    expect(existsSync(join(h.dataDir, 'gateway.pid'))).toBe(false);

    const missing = await cli(h, ['import-identity', '--key', join(made, 'nope.key'), '--cert', other.certFile]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.key/);
  }, T);
});
