// `tlsim-gateway room add|list|remove` with no gateway running: rooms kept in the data directory, mistakes refused.
import { describe, expect, it } from 'vitest';
import { cliHome as home, runToEnd, useBuiltCli, type CliHome, type RunResult } from '../support/cli-program.js';

const CLI = useBuiltCli('rooms');
const T = 60_000;
const FP = 'ab'.repeat(32);

function cli(h: CliHome, args: string[]): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { env: h.env, timeout: T });
}

describe('room commands on a stopped gateway', () => {
  const h = home();

  it('adds, lists (text and JSON), refuses a bad share string and name, removes', async () => {
    const added = await cli(h, ['room', 'add', `tlsim://${FP}@127.0.0.1:5600`, 'lounge']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('lounge@conference.localhost');
    const list = await cli(h, ['room', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ name: 'lounge', fingerprint: FP, address: '127.0.0.1:5600', jid: 'lounge@conference.localhost' }]);
    const bad = await cli(h, ['room', 'add', 'tlsim://nothex@127.0.0.1:5600']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a tlsim share string/);
    const badName = await cli(h, ['room', 'add', `tlsim://${FP}@127.0.0.1:5600`, 'Bad/Name']);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/room name/);
    expect((await cli(h, ['room', 'remove', 'lounge'])).code).toBe(0);
    const gone = await cli(h, ['room', 'remove', 'lounge']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no room named lounge');
    expect((await cli(h, ['room'])).code).toBe(2);
  }, 4 * T);
});
