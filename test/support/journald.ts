// A real systemd-journald for a test, in a journal namespace of its own (systemd-journald <namespace>): its
// sockets under /run/systemd/journal.<ns>/, its files under /var/log/journal/<machine-id>.<ns>/, read back with
// `journalctl --namespace`. Nothing of the machine's own journal is touched. Needs root (journald's directories).
// A program is put in front of it as systemd does for a unit with LogNamespace=: standard error connected to the
// namespace's stream socket (with the stream header and JOURNAL_STREAM), and /run/systemd/journal bind-mounted
// from the namespace in a mount namespace of the program's own (unshare -m).
import { spawnSync } from 'node:child_process';
import { existsSync, fstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { spawnProc, waitUntil, type Proc } from './proc.js';

export const JOURNALD = '/lib/systemd/systemd-journald';
const START_TIMEOUT_MS = 10_000;

export type JournalEntry = Record<string, string | number[] | null>;

export interface TestJournal {
  readonly ns: string;
  /** The native socket programs of the namespace write to. */
  readonly socket: string;
  /** Entries so far, oldest first, with journalctl's match arguments (e.g. 'SYSLOG_IDENTIFIER=tlsim-gateway'). */
  entries(...matches: string[]): JournalEntry[];
  /** A stream socket to journald as a unit's standard error is, and the JOURNAL_STREAM naming it. */
  stream(identifier: string): Promise<{ socket: Socket; journalStream: string }>;
  /** `cmd args` in a mount namespace whose /run/systemd/journal is this namespace's (LogNamespace=). */
  inNamespace(cmd: string, args: readonly string[]): [string, string[]];
  stop(): Promise<void>;
}

export async function startJournal(): Promise<TestJournal> {
  const ns = `tlsimtest${process.pid}x${Date.now() % 100_000}`;
  const runDir = `/run/systemd/journal.${ns}`;
  const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  const logDir = `/var/log/journal/${machineId}.${ns}`;
  const proc: Proc = await spawnProc(JOURNALD, [ns], { stdin: 'ignore' });
  const socket = join(runDir, 'socket');
  await waitUntil(() => existsSync(socket) && existsSync(join(runDir, 'stdout')), START_TIMEOUT_MS);
  // The mount point the namespace's directory is bound onto; systemd machines have it already.
  const madeMountPoint = !existsSync('/run/systemd/journal');
  if (madeMountPoint) mkdirSync('/run/systemd/journal', { recursive: true });
  return {
    ns,
    socket,
    entries(...matches) {
      const r = spawnSync('journalctl', [`--namespace=${ns}`, '-o', 'json', '--no-pager', '--all', ...matches], { encoding: 'utf8', timeout: 20_000 });
      return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JournalEntry);
    },
    async stream(identifier) {
      const s = connect(join(runDir, 'stdout'));
      await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
      // The stream protocol's header: identifier, unit, priority, level prefix, syslog, kmsg, console.
      s.write(`${identifier}\n\n6\n1\n0\n0\n0\n`);
      const st = fstatSync((s as unknown as { _handle: { fd: number } })._handle.fd);
      return { socket: s, journalStream: `${st.dev}:${st.ino}` };
    },
    inNamespace(cmd, args) {
      return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${runDir} /run/systemd/journal && exec "$@"`, 'sh', cmd, ...args]];
    },
    async stop() {
      await proc.kill();
      if (madeMountPoint) rmSync('/run/systemd/journal', { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** A journal field's value as text (journalctl -o json gives byte arrays for values that are not plain text). */
export function fieldText(v: JournalEntry[string] | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
}
