// The real `tlsim-gateway` program in tests: a home of its own (nothing from the developer's setup),
// a run to completion with exit code and output, and a private build of the CLI for a test file.
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { OPENSSL_CONFIG_FLAG } from '../../gateway/daemon/openssl-config.js';
import { tmpDir } from './identities.js';

const runFile = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

/** A temp HOME with its XDG dirs, and where the CLI puts its data and looks for its config there. */
export interface CliHome {
  root: string;
  dataDir: string;
  configFile: string;
  env: NodeJS.ProcessEnv;
}

export function cliHome(prefix = 'tlsim-cli'): CliHome {
  const root = tmpDir(prefix);
  return {
    root,
    dataDir: join(root, 'data', 'tlsim-gateway'),
    configFile: join(root, 'config', 'tlsim-gateway', 'config.toml'),
    // Nothing from the developer's own setup (TLSIM_* settings, XDG dirs) may leak in.
    // TLSIM_TOR_MODE=off: no tor reaching the public network from a test ("auto" is the default).
    // NODE_OPTIONS: the OpenSSL settings bin/tlsim-gateway starts node with.
    env: {
      PATH: process.env.PATH,
      HOME: root,
      XDG_DATA_HOME: join(root, 'data'),
      XDG_CONFIG_HOME: join(root, 'config'),
      TLSIM_TOR_MODE: 'off',
      NODE_OPTIONS: OPENSSL_CONFIG_FLAG,
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end; a non-zero exit (or a kill at the timeout: code -1) resolves too. */
export async function runToEnd(file: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; timeout: number }): Promise<RunResult> {
  try {
    const { stdout, stderr } = await runFile(file, args, opts);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * Builds the project (tsconfig.build.json) into a private directory before the file's tests and
 * removes it after them; returns the path of the built gateway/cli.js (run it with node).
 */
export function useBuiltCli(tag: string): string {
  /** Inside node_modules so the built files resolve the project's dependencies. */
  const build = join(REPO, 'node_modules', '.cache', `tlsim-cli-test-${process.pid}-${tag}`);
  const cliFile = join(build, 'gateway', 'cli.js');
  beforeAll(async () => {
    // Type errors in files others are still writing must not stop the build: tsc emits anyway.
    await runFile(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', build], { cwd: REPO }).catch(() => {});
    if (!existsSync(cliFile)) throw new Error(`building the CLI produced no ${cliFile}`);
    // Under node_modules Node would take the files for CommonJS.
    writeFileSync(join(build, 'package.json'), '{"type":"module"}\n');
  }, 120_000);
  afterAll(() => rmSync(build, { recursive: true, force: true }));
  return cliFile;
}
