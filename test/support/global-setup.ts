// Runs once around the whole test run: repeats, at the end, which interop suites
// could not run on this machine, so a skip is never silent.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export default function setup(): () => void {
  return () => {
    const catalogue: Record<string, { pkg: string; check: string[] }> = JSON.parse(
      readFileSync(new URL('../../scripts/system-tools.json', import.meta.url), 'utf8'),
    ).tools;
    const missing = Object.entries(catalogue)
      .filter(([, spec]) => spawnSync(spec.check[0]!, spec.check.slice(1), { stdio: 'ignore' }).status !== 0)
      .map(([name, spec]) => ({ name, pkg: spec.pkg }));
    if (missing.length === 0) return;
    const pkgs = [...new Set(missing.map((m) => m.pkg))].join(' ');
    console.warn(
      `\n!!! Interop suites needing ${missing.map((m) => m.name).join(', ')} were SKIPPED.` +
        `\n!!! Install: sudo apt-get install -y --no-install-recommends ${pkgs}\n`,
    );
  };
}
