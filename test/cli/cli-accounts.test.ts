// The real `tlsim-gateway account add|list|remove` (built once into a private directory), with the gateway
// stopped (on the data directory) and running (through its control socket: an added account logs in at
// once, a removed one is cut off), and `status --json` keeping the default account's keys beside `accounts`.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { XmppJsClient } from '../../clients/xmppjs/client.js';
import { cliHome as home, runToEnd, useBuiltCli, type CliHome, type RunResult } from '../support/cli-program.js';
import { killAll, spawnProc, type Proc } from '../support/proc.js';

const CLI = useBuiltCli('accounts');
const T = 90_000;
const mode = (f: string): number => statSync(f).mode & 0o777;

function cli(h: CliHome, args: string[]): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { env: h.env, timeout: T });
}

async function json(h: CliHome, args: string[]): Promise<any> {
  const r = await cli(h, [...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function login(s: Record<string, any>, username: string, passwordFile: string, resource = 'cli-test'): Promise<XmppJsClient> {
  return loginWith(s, username, (await readFile(passwordFile, 'utf8')).trim(), resource);
}

async function loginWith(s: Record<string, any>, username: string, password: string, resource: string): Promise<XmppJsClient> {
  const client = new XmppJsClient({
    service: `xmpp://127.0.0.1:${s.c2sPort}`,
    domain: 'localhost',
    username,
    password,
    resource,
    ca: await readFile(s.caCertFile, 'utf8'),
  });
  await client.start();
  return client;
}

afterAll(async () => {
  await killAll();
});

describe('tlsim-gateway account, gateway stopped', () => {
  const h = home('tlsim-cli-acc');

  it('add makes <name>@localhost with its own identity, password (0600) and directory (0700)', async () => {
    const r = await cli(h, ['account', 'add', 'bob']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('added bob@localhost (online at the next start)');
    // Not a terminal: the password is not printed, only where it is.
    expect(r.stdout).toContain(`cat ${join(h.dataDir, 'accounts', 'bob', 'xmpp-password')}`);
    const dir = join(h.dataDir, 'accounts', 'bob');
    expect(mode(join(h.dataDir, 'accounts'))).toBe(0o700);
    expect(mode(dir)).toBe(0o700);
    for (const f of ['key.pem', 'cert.pem', 'xmpp-password', 'xmpp-credentials.json']) expect(mode(join(dir, f)), f).toBe(0o600);
    expect((await readFile(join(dir, 'xmpp-password'), 'utf8')).trim()).toMatch(/^\S{20,}$/);
    // The default account keeps its files where they are.
    expect(existsSync(join(h.dataDir, 'accounts', 'me'))).toBe(false);
  }, T);

  it('add --password-file takes the password from the file; a name that exists, or a bad one, is refused', async () => {
    const pw = join(h.root, 'carol.pw');
    writeFileSync(pw, 'carol secret pass\n', { mode: 0o600 });
    const r = await cli(h, ['account', 'add', 'carol', '--password-file', pw]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('cat ');
    expect((await readFile(join(h.dataDir, 'accounts', 'carol', 'xmpp-password'), 'utf8')).trim()).toBe('carol secret pass');
    for (const args of [['account', 'add', 'bob'], ['account', 'add', 'me'], ['account', 'add', '../evil'], ['account', 'add', 'x', '--password-file', join(h.root, 'missing')]]) {
      const bad = await cli(h, args);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stderr, args.join(' ')).toMatch(/^tlsim-gateway: /);
    }
    expect(existsSync(join(h.dataDir, 'accounts', 'x'))).toBe(false);
    const usage = await cli(h, ['account', 'frob']);
    expect(usage.code).toBe(2);
  }, T);

  it('list --json shows every account, the default first, each with its own fingerprint, share string and port', async () => {
    const lines = await json(h, ['account', 'list']);
    expect(lines.map((a: any) => a.jid)).toEqual(['me@localhost', 'bob@localhost', 'carol@localhost']);
    expect(lines[0]).toMatchObject({ default: true, peerPort: 18765, passwordFile: join(h.dataDir, 'xmpp-password') });
    const fps = lines.slice(1).map((a: any) => a.fingerprint);
    expect(new Set(fps).size).toBe(2);
    for (const a of lines.slice(1)) {
      expect(a.share).toBe(`tlsim://${a.fingerprint}@127.0.0.1:${a.peerPort}`);
      expect(a.peerPort).toBeGreaterThan(18765);
      expect(a.contacts).toBe(0);
    }
    const status = await json(h, ['status']);
    expect(status).toMatchObject({ jid: 'me@localhost', running: false });
    expect(status.accounts.map((a: any) => a.jid)).toEqual(['me@localhost', 'bob@localhost', 'carol@localhost']);
  }, T);

  it('remove deletes an account and its directory; the default account only with --yes', async () => {
    const r = await cli(h, ['account', 'remove', 'carol']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(h.dataDir, 'accounts', 'carol'))).toBe(false);
    const missing = await cli(h, ['account', 'remove', 'carol']);
    expect(missing.code).toBe(1);
    const noYes = await cli(h, ['account', 'remove', 'me']);
    expect(noYes.code).toBe(1);
    expect(noYes.stderr).toContain('--yes');
    expect((await json(h, ['account', 'list'])).map((a: any) => a.jid)).toEqual(['me@localhost', 'bob@localhost']);
  }, T);
});

describe('tlsim-gateway account, gateway running', () => {
  const h = home('tlsim-cli-acc-run');
  let gw: Proc;
  let bobPasswordFile: string;

  async function startRun(): Promise<Proc> {
    const p = await spawnProc(process.execPath, [CLI, 'run', '--c2s-port', '0', '--peer-port', '0', '--websocket-port', '0'], { env: h.env, stdin: 'ignore' });
    await p.waitFor(/"msg":"gateway started/, T);
    return p;
  }

  beforeAll(async () => {
    const r = await cli(h, ['account', 'add', 'bob']);
    expect(r.code, r.stderr).toBe(0);
    bobPasswordFile = join(h.dataDir, 'accounts', 'bob', 'xmpp-password');
    gw = await startRun();
  }, T);

  afterAll(async () => {
    await gw?.kill();
  });

  it('status --json keeps the default account keys and lists every account running, on its own port', async () => {
    const s = await json(h, ['status']);
    expect(s).toMatchObject({ running: true, jid: 'me@localhost', passwordFile: join(h.dataDir, 'xmpp-password') });
    expect(s.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const [me, bob] = s.accounts;
    expect(me).toMatchObject({ jid: 'me@localhost', default: true, fingerprint: s.fingerprint, share: s.share, peerPort: s.peerPort });
    expect(bob.jid).toBe('bob@localhost');
    expect(bob.fingerprint).not.toBe(s.fingerprint);
    expect(bob.peerPort).not.toBe(s.peerPort);
    expect(bob.share).toBe(`tlsim://${bob.fingerprint}@127.0.0.1:${bob.peerPort}`);
  }, T);

  it('an account added while it runs logs in at once and finds the others in its roster; removed, it is cut off', async () => {
    const s = await json(h, ['status']);
    const bob = await login(s, 'bob', bobPasswordFile);
    // Available: messages for the bare JID come to this session, not to offline storage.
    await bob.presence();
    try {
      const add = await cli(h, ['account', 'add', 'dave']);
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toContain('added dave@localhost (online now)');
      const davePassword = (await readFile(join(h.dataDir, 'accounts', 'dave', 'xmpp-password'), 'utf8')).trim();
      const dave = await loginWith(s, 'dave', davePassword, 'cli-test');
      try {
        expect((await dave.roster()).map((i) => i.jid)).toEqual(expect.arrayContaining(['me@localhost', 'bob@localhost']));
        await vi.waitFor(async () => expect((await bob.roster()).map((i) => i.jid)).toContain('dave@localhost'), { timeout: 10_000 });
        await dave.send('bob@localhost', 'hello from dave');
        const m = await bob.nextMessage((x) => x.body === 'hello from dave');
        expect(m.from).toBe('dave@localhost/cli-test');

        const listed = await json(h, ['account', 'list']);
        expect(listed.find((a: any) => a.jid === 'dave@localhost')).toMatchObject({ sessions: 1 });
        const rm = await cli(h, ['account', 'remove', 'dave']);
        expect(rm.code, rm.stderr).toBe(0);
        await vi.waitFor(() => expect(dave.errors.map((e) => String((e as { condition?: string }).condition ?? e.message))).toContain('not-authorized'), { timeout: 10_000 });
        expect(existsSync(join(h.dataDir, 'accounts', 'dave'))).toBe(false);
        const again = new XmppJsClient({ service: `xmpp://127.0.0.1:${s.c2sPort}`, domain: 'localhost', username: 'dave', password: davePassword, ca: await readFile(s.caCertFile, 'utf8') });
        await expect(again.start()).rejects.toThrow(/not-authorized/);
        await again.stop();
      } finally {
        await dave.stop();
      }
      // The default account cannot go while it runs.
      const me = await cli(h, ['account', 'remove', 'me', '--yes']);
      expect(me.code).toBe(1);
      expect(me.stderr).toContain('stop the gateway');
    } finally {
      await bob.stop();
    }
  }, T);

  it('after a restart the added account logs in again with the same identity', async () => {
    const before = (await json(h, ['account', 'list'])).find((a: any) => a.jid === 'bob@localhost');
    await gw.kill();
    gw = await startRun();
    const s = await json(h, ['status']);
    const bob = s.accounts.find((a: any) => a.jid === 'bob@localhost');
    expect(bob.fingerprint).toBe(before.fingerprint);
    const c = await login(s, 'bob', bobPasswordFile, 'again');
    await c.stop();
  }, T);
});
