// The process-wide OpenSSL settings the gateway runs with (openssl.cnf beside this file): no TLS 1.3
// session tickets, so the reference tlsd can dial us (the file says why). Node reads them only at start.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const CONFIG_IN_PACKAGE = join('gateway', 'daemon', 'openssl.cnf');

/** The package root, from the sources or from any build of them (dist/): where the file is. */
function packageRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, CONFIG_IN_PACKAGE)) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const OPENSSL_CONFIG_FILE = join(packageRoot(), CONFIG_IN_PACKAGE);

/** The node option that loads it (bin/tlsim-gateway and `npm start` pass it; tests too). */
export const OPENSSL_CONFIG_FLAG = `--openssl-config=${OPENSSL_CONFIG_FILE}`;

/** Whether this process was started with our OpenSSL settings (on the command line or in NODE_OPTIONS). */
export function opensslConfigActive(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): boolean {
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].filter((a) => a.startsWith('--openssl-config='));
  const files = [...flags.map((a) => a.slice('--openssl-config='.length)), ...(env.OPENSSL_CONF ? [env.OPENSSL_CONF] : [])];
  return files.some((f) => sameFile(f, OPENSSL_CONFIG_FILE));
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(resolve(a)) === realpathSync(b);
  } catch {
    return false;
  }
}

/** The warning to log when it is not: what breaks, and how to start the gateway instead. */
export function opensslConfigWarning(): string | undefined {
  if (opensslConfigActive()) return undefined;
  return (
    'node was started without the gateway OpenSSL settings: TLS 1.3 session tickets are on, and a reference tlsd ' +
    `dialing us drops the link right after the handshake. Start the gateway with "tlsim-gateway" or "npm start", or add ${OPENSSL_CONFIG_FLAG}`
  );
}
