// The reference daemon itself: TLSd (tlsd, std2fifo, fp2alias) built from its published source
// (shared/reference/tlsd-<commit>.tar.gz) with its own autotools, once per machine, and the reference
// IM setup of its examples/p2p-im run on a private directory. A tlsim peer exactly as its users run it.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir, type OpensslIdentity } from './identities.js';
import { freePort, waitForPort } from './net.js';
import { spawnProc, waitUntil, type Proc } from './proc.js';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');
const TARBALL = /^tlsd-([0-9a-f]+)\.tar\.gz$/;
/** The Debian tools the build needs (scripts/system-tools.json names their packages). */
export const TLSD_BUILD_TOOLS = ['cc', 'autoreconf', 'automake', 'makeinfo', 'pkg-config', 'libgnutls-dev'];

export interface TlsdBuild {
  /** The unpacked source tree (examples/ included). */
  src: string;
  tlsd: string;
  std2fifo: string;
  fp2alias: string;
}

/**
 * Where the published source is: `TLSIM_REFERENCE_DIR`, else the first `shared/reference` beside the
 * repository or one of its parents (CI lays shared/ beside the clone).
 */
export function referenceTarball(): string {
  const dirs = process.env.TLSIM_REFERENCE_DIR ? [process.env.TLSIM_REFERENCE_DIR] : [];
  for (let d = REPO; dirname(d) !== d; d = dirname(d)) dirs.push(join(dirname(d), 'shared', 'reference'));
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const file = readdirSync(dir).find((f) => TARBALL.test(f));
    if (file) return join(dir, file);
  }
  throw new Error(`the reference TLSd source (shared/reference/tlsd-<commit>.tar.gz) was not found beside ${REPO} or its parents; set TLSIM_REFERENCE_DIR`);
}

let building: Promise<TlsdBuild> | undefined;

/** The built reference programs; builds them on first use (about 20 s), then reuses the cache. */
export function referenceTlsd(): Promise<TlsdBuild> {
  return (building ??= build());
}

async function build(): Promise<TlsdBuild> {
  const tarball = referenceTarball();
  const commit = TARBALL.exec(tarball.split('/').pop()!)![1]!;
  const cacheRoot = join(REPO, 'node_modules', '.cache');
  const dest = join(cacheRoot, `tlsd-${commit}`);
  const result = (src: string): TlsdBuild => ({ src, tlsd: join(src, 'tlsd'), std2fifo: join(src, 'std2fifo'), fp2alias: join(src, 'fp2alias') });
  if (existsSync(join(dest, 'tlsd', 'std2fifo'))) return result(join(dest, 'tlsd'));
  // Built aside and renamed into place: test files building at once never see half a build.
  mkdirSync(cacheRoot, { recursive: true });
  const work = join(cacheRoot, `tlsd-${commit}.build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  try {
    await run('tar', ['xzf', tarball, '-C', work]);
    const src = join(work, 'tlsd');
    const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: src, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    await sh('autoreconf -fi');
    await sh('./configure');
    // Upstream's -Werror trips on newer compilers: the warnings stay, the build goes on.
    await sh('make AM_CFLAGS="-Wall -Wextra -pedantic"');
    try {
      renameSync(work, dest);
    } catch (err) {
      if (!existsSync(join(dest, 'tlsd', 'std2fifo'))) throw err;
      rmSync(work, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the reference TLSd from ${tarball} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
  return result(join(dest, 'tlsd'));
}

/** One conversation of the reference IM: the FIFOs `<chat dir>/<fingerprint>/{in,out}`, as the libpurple plugin uses them. */
export interface TlsdConversation {
  /** Sends a message the way the reference libpurple plugin does: the text, then a separate LF. */
  say(text: string): Promise<void>;
  /** Everything the peer sent on this connection, as read from the `out` FIFO. */
  received(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export interface TlsdIm {
  proc: Proc;
  port: number;
  chatDir: string;
  id: OpensslIdentity;
  /** Dials a peer: what `echo 'host port' > <chat dir>/connect` does in the reference setup. */
  dial(host: string, port: number): Promise<void>;
  /** Waits for the connection with `fingerprint` (its FIFOs) and opens them as the plugin does. */
  conversation(fingerprint: string, timeoutMs?: number): Promise<TlsdConversation>;
  stop(): Promise<void>;
}

/**
 * `tail -f connect | tlsd -p PORT -- tlsd-im-cmd.sh` (examples/p2p-im/tlsd-im.sh), with the example's own
 * per-connection script pointed at a private chat directory instead of /var/lib/tlsd-im/, no torify,
 * and tlsd's stdin as the connect FIFO.
 */
export async function startTlsdIm(id: OpensslIdentity, opts: { port?: number } = {}): Promise<TlsdIm> {
  const b = await referenceTlsd();
  const root = tmpDir('tlsd-im');
  const chatDir = join(root, 'chat') + '/';
  mkdirSync(chatDir);
  const example = readFileSync(join(b.src, 'examples', 'p2p-im', 'tlsd-im-cmd.sh'), 'utf8');
  if (!example.includes('CHATDIR="/var/lib/tlsd-im/"')) throw new Error('examples/p2p-im/tlsd-im-cmd.sh no longer sets CHATDIR as expected');
  const script = join(root, 'tlsd-im-cmd.sh');
  writeFileSync(script, example.replace('CHATDIR="/var/lib/tlsd-im/"', `CHATDIR="${chatDir}"`), { mode: 0o755 });
  const port = opts.port ?? (await freePort());
  const proc = await spawnProc(b.tlsd, ['-e', '-k', id.keyFile, '-c', id.certFile, '-b', '127.0.0.1', '-p', String(port), '--', script], {
    cwd: root,
    env: { PATH: `${b.src}:${process.env.PATH}` },
  });
  try {
    await waitForPort(port, 20_000);
  } catch (err) {
    await proc.kill();
    throw new Error(`tlsd did not listen on ${port}: ${(err as Error).message}${proc.tails()}`);
  }
  const conversations: TlsdConversation[] = [];
  return {
    proc,
    port,
    chatDir,
    id,
    dial: (host, p) => proc.write(`${host} ${p}\n`),
    async conversation(fingerprint, timeoutMs = 30_000) {
      const dir = join(chatDir, fingerprint);
      await waitUntil(() => existsSync(join(dir, 'in')) && existsSync(join(dir, 'out')), timeoutMs);
      const c = await openConversation(dir);
      conversations.push(c);
      return c;
    },
    async stop() {
      await Promise.all(conversations.map((c) => c.close()));
      await proc.kill();
    },
  };
}

/** A reader on `out` and a writer held open on `in` (std2fifo -c ends the connection when `in` closes). */
async function openConversation(dir: string): Promise<TlsdConversation> {
  const reader = await spawnProc('cat', [join(dir, 'out')]);
  const writer = await spawnProc('sh', ['-c', 'exec cat > "$1"', 'sh', join(dir, 'in')]);
  return {
    async say(text) {
      await writer.write(text);
      await writer.write('\n');
    },
    received: () => reader.output('stdout'),
    waitFor: (re, timeoutMs = 20_000) => reader.waitFor(re, timeoutMs, { stream: 'stdout' }),
    async close() {
      writer.closeStdin();
      await Promise.all([writer.kill(), reader.kill()]);
    },
  };
}

export interface TlsdChat {
  port: number;
  /** `<fingerprint> <alias>` lines fp2alias keeps. */
  aliasFile: string;
  stop(): Promise<void>;
}

/**
 * The reference chat room (examples/chat, tlsd.texi "Sample chat"): `ncat -l --broker` and
 * `tlsd -p PORT -- fp2alias -a -- tlsd-chat.sh`, the example's script pointed at our broker's port.
 */
export async function startTlsdChat(id: OpensslIdentity, opts: { port?: number } = {}): Promise<TlsdChat> {
  const b = await referenceTlsd();
  const root = tmpDir('tlsd-chat');
  const brokerPort = await freePort();
  const broker = await spawnProc('ncat', ['-l', '--broker', '127.0.0.1', String(brokerPort)], { cwd: root });
  await waitForPort(brokerPort, 20_000);
  const example = readFileSync(join(b.src, 'examples', 'chat', 'tlsd-chat.sh'), 'utf8');
  if (!example.includes('nc localhost 7000')) throw new Error('examples/chat/tlsd-chat.sh no longer talks to nc localhost 7000');
  const script = join(root, 'tlsd-chat.sh');
  writeFileSync(script, example.replaceAll('nc localhost 7000', `ncat 127.0.0.1 ${brokerPort}`), { mode: 0o755 });
  const aliasFile = join(root, 'aliases');
  writeFileSync(aliasFile, '');
  const port = opts.port ?? (await freePort());
  const tlsd = await spawnProc(b.tlsd, ['-e', '-k', id.keyFile, '-c', id.certFile, '-b', '127.0.0.1', '-p', String(port), '--', b.fp2alias, '-a', '-f', aliasFile, '--', script], {
    cwd: root,
    stdin: 'ignore',
  });
  try {
    await waitForPort(port, 20_000);
  } catch (err) {
    await Promise.all([tlsd.kill(), broker.kill()]);
    throw new Error(`tlsd (chat) did not listen on ${port}: ${(err as Error).message}${tlsd.tails()}`);
  }
  return {
    port,
    aliasFile,
    async stop() {
      await Promise.all([tlsd.kill(), broker.kill()]);
    },
  };
}
