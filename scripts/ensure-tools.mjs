#!/usr/bin/env node
// Runs before `npm test`: makes sure the real programs the interop suites talk to
// are installed. Installs missing Debian packages when it can (root or passwordless
// sudo); otherwise says loudly which suites will be skipped and the exact install
// line. Under CI=true a missing tool is an error: CI may skip nothing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const catalogue = JSON.parse(readFileSync(new URL('./system-tools.json', import.meta.url), 'utf8')).tools;
const ci = process.env.CI === 'true' || process.env.CI === '1';

function present(name) {
  const [cmd, ...args] = catalogue[name].check;
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

function missingTools() {
  return Object.keys(catalogue).filter((name) => !present(name));
}

function canInstall() {
  if (process.env.TLSIM_NO_INSTALL === '1') return null;
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) return null;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return [];
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0) return ['sudo', '-n'];
  return null;
}

function run(prefix, args) {
  const [cmd, ...rest] = [...prefix, ...args];
  const r = spawnSync(cmd, rest, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 15 * 60_000,
  });
  return r.status === 0;
}

let missing = missingTools();
if (missing.length > 0) {
  const pkgs = [...new Set(missing.map((m) => catalogue[m].pkg))];
  const prefix = canInstall();
  if (prefix) {
    console.log(`[ensure-tools] installing Debian packages for the interop suites: ${pkgs.join(' ')}`);
    run(prefix, ['apt-get', 'update', '-qq']);
    run(prefix, ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
    missing = missingTools();
  }
}

if (missing.length === 0) {
  console.log('[ensure-tools] all interop tools present');
  process.exit(0);
}

const pkgs = [...new Set(missing.map((m) => catalogue[m].pkg))];
const line = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
const bar = '!'.repeat(78);
console.error(`\n${bar}\n!! MISSING TOOLS: ${missing.join(', ')}`);
console.error(`!! The interop suites that need them will be SKIPPED (each says so when it runs).`);
console.error(`!! Install them with:\n!!   ${line}\n${bar}\n`);
if (ci) {
  console.error('[ensure-tools] CI=true: no interop suite may be skipped; failing.');
  process.exit(1);
}
