// `tlsim-gateway service install|uninstall`: the user and the system unit pass `systemd-analyze verify`
// with not even a warning, name bin/tlsim-gateway (node with the gateway's OpenSSL settings) and the
// hardening options; and the daemon does report ready the way Type=notify expects (READY=1 on
// $NOTIFY_SOCKET, received here by socat, as systemd would).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliHome, runToEnd, useBuiltCli, type CliHome, type RunResult } from '../support/cli-program.js';
import { tmpDir } from '../support/identities.js';
import { spawnProc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

const CLI = useBuiltCli('service');
const T = 60_000;

function cli(h: CliHome, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args, '--data-dir', h.dataDir], { env: { ...h.env, ...env }, timeout: T });
}

/** systemd-analyze verify in a private runtime dir: its exit code and everything it said. */
function verify(file: string, user: boolean): { code: number | null; said: string } {
  const run = tmpDir('sd-run');
  const r = spawnSync('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: run },
    timeout: 30_000,
  });
  return { code: r.status, said: `${r.stdout}${r.stderr}`.trim() };
}

interopSuite('service install: systemd units', ['systemd-analyze', 'socat'], () => {
  it('the user unit: written under ~/.config/systemd/user, accepted by systemd-analyze, removed by uninstall', async () => {
    const h = cliHome('service-user');
    const r = await cli(h, ['service', 'install']);
    expect(r.code, r.stderr).toBe(0);
    const file = join(h.root, 'config', 'systemd', 'user', 'tlsim-gateway.service');
    expect(r.stdout).toContain(`wrote ${file}`);
    expect(r.stdout).toContain('systemctl --user daemon-reload && systemctl --user enable --now tlsim-gateway');
    const unit = await readFile(file, 'utf8');
    const exec = /^ExecStart=(\S+) run --data-dir (\S+) --config (\S+)$/m.exec(unit);
    expect(exec?.[1]).toMatch(/\/bin\/tlsim-gateway$/);
    expect(existsSync(exec![1]!)).toBe(true);
    expect(exec?.[2]).toBe(h.dataDir);
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^WantedBy=default.target$/m);
    expect(verify(file, true)).toEqual({ code: 0, said: '' });

    const gone = await cli(h, ['service', 'uninstall']);
    expect(gone.code).toBe(0);
    expect(existsSync(file)).toBe(false);
  }, T);

  it('the system unit: a dedicated user, ProtectSystem=strict with the data dir writable, accepted by systemd-analyze', async () => {
    const h = cliHome('service-system');
    const r = await cli(h, ['service', 'install', '--system', '--print']);
    expect(r.code, r.stderr).toBe(0);
    for (const line of ['User=tlsim-gateway', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/tlsim-gateway', 'PrivateTmp=yes', 'NoNewPrivileges=yes', 'StateDirectory=tlsim-gateway', 'WantedBy=multi-user.target']) {
      expect(r.stdout.split('\n')).toContain(line);
    }
    expect(r.stdout).toMatch(/^ExecStart=\S+\/bin\/tlsim-gateway run --data-dir \/var\/lib\/tlsim-gateway --config \/etc\/tlsim-gateway\/config.toml$/m);
    const dir = tmpDir('unit-system');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'tlsim-gateway.service');
    await writeFile(file, r.stdout);
    expect(verify(file, false)).toEqual({ code: 0, said: '' });
    expect((await cli(h, ['service', 'install', '--user', '--system'])).code).toBe(2);
  }, T);

  it('started with NOTIFY_SOCKET (Type=notify), the gateway sends READY=1 once it is up', async () => {
    const h = cliHome('service-notify');
    const dir = tmpDir('notify');
    await mkdir(dir, { recursive: true });
    const socket = join(dir, 'notify');
    const systemd = await spawnProc('socat', ['-u', `UNIX-RECV:${socket}`, '-']);
    try {
      await expect.poll(() => existsSync(socket), { timeout: 10_000 }).toBe(true);
      const gw = await spawnProc(
        process.execPath,
        [CLI, 'run', '--data-dir', h.dataDir, '--c2s-port', '0', '--peer-port', '0', '--websocket-port', '0', '--web-port', '0', '--tor', 'off'],
        { env: { ...h.env, NOTIFY_SOCKET: socket }, stdin: 'ignore' },
      );
      try {
        await gw.waitFor(/"msg":"gateway started/, T, { stream: 'stderr' });
        await systemd.waitFor(/READY=1/, 20_000, { stream: 'stdout' });
        expect(systemd.output('stdout')).toContain(`MAINPID=${gw.pid}`);
      } finally {
        await gw.kill();
      }
    } finally {
      await systemd.kill();
    }
  }, T);
});
