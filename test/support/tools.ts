// Which real programs are on this machine, and interop suites that need them.
// A suite whose tools are missing is skipped loudly outside CI and fails under CI.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';

interface ToolSpec {
  pkg: string;
  check: string[];
}

const catalogue: Record<string, ToolSpec> = JSON.parse(
  readFileSync(new URL('../../scripts/system-tools.json', import.meta.url), 'utf8'),
).tools;

export type ToolName = keyof typeof catalogue & string;

const cache = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  const spec = catalogue[name];
  if (!spec) throw new Error(`unknown tool ${name}: add it to scripts/system-tools.json`);
  let ok = cache.get(name);
  if (ok === undefined) {
    const [cmd, ...args] = spec.check;
    ok = spawnSync(cmd!, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;
    cache.set(name, ok);
  }
  return ok;
}

export const isCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * describe() for a suite that talks to real programs. When a tool is missing the
 * suite is skipped with a loud line naming the package (outside CI), or fails (in CI).
 */
export function interopSuite(name: string, tools: string[], fn: () => void): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const pkgs = [...new Set(missing.map((t) => catalogue[t]!.pkg))].join(' ');
  const line = `apt-get install -y --no-install-recommends ${pkgs}`;
  if (isCI) {
    describe(name, () => {
      it('has the programs it tests against', () => {
        throw new Error(`missing ${missing.join(', ')} (CI may skip nothing): ${line}`);
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPING interop suite "${name}": missing ${missing.join(', ')}. Install: ${line}\n`);
  describe.skipIf(true)(`${name} [SKIPPED: missing ${missing.join(', ')}; ${line}]`, fn);
}
