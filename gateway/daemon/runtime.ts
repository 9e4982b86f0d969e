// <dataDir>/runtime.json: what a running gateway actually bound (real ports when 0 was asked), for `status`.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../xmpp/secret-file.js';

export const RUNTIME_FILE = 'runtime.json';

export interface RuntimeInfo {
  pid: number;
  c2sPort: number | null;
  peerPort: number | null;
  websocketPort: number | null;
  startedAt: string;
}

export function runtimePath(dataDir: string): string {
  return join(dataDir, RUNTIME_FILE);
}

export async function writeRuntime(dataDir: string, info: RuntimeInfo): Promise<void> {
  await writeSecretFile(runtimePath(dataDir), `${JSON.stringify(info, null, 2)}\n`);
}

/** The file's content, or undefined when missing or damaged (a crash may leave anything behind). */
export function readRuntime(dataDir: string): RuntimeInfo | undefined {
  try {
    const o = JSON.parse(readFileSync(runtimePath(dataDir), 'utf8')) as Partial<RuntimeInfo>;
    if (!Number.isInteger(o.pid)) return undefined;
    const port = (p: unknown): number | null => (Number.isInteger(p) ? (p as number) : null);
    return {
      pid: o.pid!,
      c2sPort: port(o.c2sPort),
      peerPort: port(o.peerPort),
      websocketPort: port(o.websocketPort),
      startedAt: typeof o.startedAt === 'string' ? o.startedAt : '',
    };
  } catch {
    return undefined;
  }
}

export function removeRuntime(dataDir: string): void {
  rmSync(runtimePath(dataDir), { force: true });
}
