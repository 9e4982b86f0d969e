// journald's native protocol ("Native Journal Protocol", systemd.io/JOURNAL_NATIVE_PROTOCOL): each log line
// becomes one journal entry with fields of its own, so `journalctl -u tlsim-gateway PEER=…` filters and
// `journalctl -o json` shows them. An entry is `NAME=value\n` per field, or, for a value with a newline,
// `NAME\n` + its length as 64-bit little-endian + the bytes + `\n`; names are A–Z, 0–9 and `_`, not leading `_`.
// The entry is one datagram to /run/systemd/journal/socket. Node has no datagram Unix sockets, so a small
// relay (python3, reading length-prefixed entries on its standard input) sends them; an entry too big for a
// datagram goes as a sealed memfd, as sd_journal_sendv does. Without python3 or the socket, lines go to the
// journal's stream with their priority prefix, as before (journalLines in log.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fstatSync } from 'node:fs';
import type { LineSink } from './log.js';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** pino's numeric levels to the sd-daemon(3) / syslog priorities journald understands. */
export function journalPriority(level: number): number {
  if (level >= 60) return 2; // fatal: crit
  if (level >= 50) return 3; // error: err
  if (level >= 40) return 4; // warn: warning
  if (level >= 30) return 6; // info
  return 7; // debug, trace
}

/**
 * Whether file descriptor `fd` is the journal's stream (systemd sets JOURNAL_STREAM=<dev>:<inode>): 'socket'
 * when it is journald's socket, 'other' when something else stands in for it (a file), else undefined.
 */
export function journalStreamKind(fd: number, env: NodeJS.ProcessEnv = process.env): 'socket' | 'other' | undefined {
  const want = env.JOURNAL_STREAM;
  if (!want) return undefined;
  try {
    const st = fstatSync(fd);
    if (want !== `${st.dev}:${st.ino}`) return undefined;
    return st.isSocket() ? 'socket' : 'other';
  } catch {
    return undefined;
  }
}

/**
 * Where JSON lines written to `sink` (on `fd`) go under systemd: journald's socket on `fd` gets native entries
 * (journalNativeLines); anything else standing in for the journal, priority-prefixed lines; not the journal: undefined.
 */
export function journalSink(fd: number, sink: LineSink, env?: NodeJS.ProcessEnv): LineSink | undefined {
  const kind = journalStreamKind(fd, env);
  if (kind === undefined) return undefined;
  return kind === 'socket' ? journalNativeLines({ stream: sink }) : journalLines(sink);
}

const LEVEL_AT_START = /^\{"level":(\d+)/;
const levelOf = (line: string): number => Number(LEVEL_AT_START.exec(line)?.[1] ?? 30);
/** A JSON line with its sd-daemon priority in front (`<4>{...}`): journald's stream records PRIORITY from it. */
const prefixed = (line: string): string => `<${journalPriority(levelOf(line))}>${line}`;

/** The journal's stream: each JSON line prefixed with its priority. */
export function journalLines(sink: LineSink): LineSink {
  return { write: (line) => sink.write(prefixed(line)) };
}

/** A field value is cut beyond this (a stack trace, a huge object): the journal is for reading. */
const MAX_VALUE_BYTES = 32 * 1024;
/** Entries waiting for the relay; beyond this they are dropped and counted (logging never grows memory). */
const MAX_QUEUED_BYTES = 1 << 20;
const READY_TIMEOUT_MS = 5_000;

/** Fields pino writes that the entry carries otherwise (PRIORITY, SYSLOG_*, journald's own time and host). */
const SKIPPED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'err']);
/** Names journald or syslog give a meaning to: a log key of that name is kept as TLSIM_<name>. */
const RESERVED = new Set(['MESSAGE', 'MESSAGE_ID', 'PRIORITY', 'CODE_FILE', 'CODE_LINE', 'CODE_FUNC', 'ERRNO', 'INVOCATION_ID', 'USER_INVOCATION_ID', 'SYSLOG_FACILITY', 'SYSLOG_IDENTIFIER', 'SYSLOG_PID', 'SYSLOG_TIMESTAMP', 'SYSLOG_RAW', 'DOCUMENTATION', 'TID', 'UNIT', 'USER_UNIT']);

/** A log key as a journal field name: `peerFp` → PEER_FP, `conn` → CONN; reserved names get TLSIM_. */
export function journalFieldName(key: string): string {
  let name = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
    .replace(/^[^A-Z]+/, '');
  if (name === '' || RESERVED.has(name)) name = `TLSIM_${name || 'FIELD'}`;
  return name.slice(0, 64);
}

function field(name: string, value: string): Buffer {
  let bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_VALUE_BYTES) bytes = Buffer.concat([bytes.subarray(0, MAX_VALUE_BYTES), Buffer.from(' [cut]')]);
  if (!bytes.includes(0x0a)) return Buffer.concat([Buffer.from(`${name}=`), bytes, Buffer.from('\n')]);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([Buffer.from(`${name}\n`), size, bytes, Buffer.from('\n')]);
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

/**
 * One pino JSON line as a native journal entry: MESSAGE (the message, else the error's), PRIORITY,
 * SYSLOG_IDENTIFIER and SYSLOG_PID (the gateway's, since the relay sends it), ERRNO and ERROR_* for an
 * error, and every other key of the line as a field of its own (objects as JSON).
 */
export function journalEntry(line: string): Buffer {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    o = { msg: line.trimEnd() };
  }
  const err = o.err && typeof o.err === 'object' ? (o.err as Record<string, unknown>) : undefined;
  const parts = [
    field('MESSAGE', text(o.msg ?? err?.message ?? '')),
    field('PRIORITY', String(journalPriority(typeof o.level === 'number' ? o.level : 30))),
    field('SYSLOG_IDENTIFIER', typeof o.name === 'string' ? o.name : 'tlsim-gateway'),
    field('SYSLOG_PID', String(typeof o.pid === 'number' ? o.pid : process.pid)),
  ];
  if (err) {
    for (const [k, v] of [['ERROR_TYPE', err.type], ['ERROR_MESSAGE', err.message], ['ERROR_CODE', err.code], ['ERROR_STACK', err.stack]] as const) {
      if (v !== undefined) parts.push(field(k, text(v)));
    }
    if (typeof err.errno === 'number') parts.push(field('ERRNO', String(Math.abs(err.errno))));
  }
  for (const [k, v] of Object.entries(o)) {
    if (!SKIPPED.has(k) && v !== undefined) parts.push(field(journalFieldName(k), text(v)));
  }
  return Buffer.concat(parts);
}

// The relay: `ready` on standard output once the socket is there; then frames of u32 entry length, u32
// fallback length, entry, fallback line. When journald refuses an entry, the fallback line (with its priority
// prefix) goes to standard error, which is the journal's stream.
const RELAY = `
import errno, fcntl, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
sys.stdout.write("ready\\n"); sys.stdout.flush()
inp, err = sys.stdin.buffer, sys.stderr.buffer
def read(n):
    b = b""
    while len(b) < n:
        c = inp.read(n - len(b))
        if not c: sys.exit(0)
        b += c
    return b
def big(entry):
    fd = os.memfd_create("journal-entry", os.MFD_ALLOW_SEALING)
    try:
        os.write(fd, entry)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
        socket.send_fds(s, [b""], [fd])
    finally:
        os.close(fd)
while True:
    n, m = struct.unpack("<II", read(8))
    entry, line = read(n), read(m)
    try:
        try:
            s.send(entry)
        except OSError as e:
            if e.errno not in (errno.EMSGSIZE, errno.ENOBUFS): raise
            big(entry)
    except OSError:
        err.write(line); err.flush()
`;

export interface JournalNativeOptions {
  /** The journal's stream, where lines go while the relay is not (yet, or no longer) there. */
  stream: LineSink;
  socket?: string;
  /** The program that runs the relay; default python3 from PATH. */
  python?: string;
}

/** One frame for the relay: the entry, and the stream line to write should journald refuse it. */
function relayFrame(line: string): Buffer {
  const entry = journalEntry(line);
  const fallback = Buffer.from(prefixed(line));
  const head = Buffer.alloc(8);
  head.writeUInt32LE(entry.length, 0);
  head.writeUInt32LE(fallback.length, 4);
  return Buffer.concat([head, entry, fallback]);
}

const warning = (msg: string): string => `${JSON.stringify({ level: 40, time: Date.now(), name: 'tlsim-gateway', msg })}\n`;

/**
 * Lines to the journal natively (see above) when the socket is there and python3 runs the relay, else to the
 * stream with priorities. Never blocks; what waits for the relay is bounded, and lines dropped are counted and said.
 */
export function journalNativeLines(opts: JournalNativeOptions): LineSink {
  const socket = opts.socket ?? JOURNAL_SOCKET;
  const stream = journalLines(opts.stream);
  if (!existsSync(socket)) return stream;
  let state: 'starting' | 'ready' | 'failed' = 'starting';
  let waiting: string[] = [];
  let waitingBytes = 0;
  let dropped = 0;
  const child: ChildProcess = spawn(opts.python ?? 'python3', ['-I', '-S', '-c', RELAY, socket], { stdio: ['pipe', 'pipe', 'inherit'] });
  const input = child.stdin!;
  const fail = (why: string): void => {
    if (state === 'failed') return;
    const before = state;
    state = 'failed';
    clearTimeout(timer);
    child.kill();
    stream.write(warning(`journald's native fields are unavailable (${why}): lines go to the journal's stream`));
    if (before === 'starting') for (const line of waiting) stream.write(line);
    waiting = [];
  };
  const timer = setTimeout(() => fail('the relay did not start'), READY_TIMEOUT_MS);
  timer.unref();
  // The relay never keeps the gateway alive: it ends when its input closes, with the gateway.
  child.unref();
  for (const s of [input, child.stdout]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  child.on('error', (err) => fail(`python3: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  child.on('exit', (code) => fail(`the relay exited with ${code}`));
  input.on('error', () => fail('the relay closed its input'));
  child.stdout!.once('data', (d: Buffer) => {
    if (state !== 'starting' || !d.toString().startsWith('ready')) return;
    state = 'ready';
    clearTimeout(timer);
    for (const line of waiting) input.write(relayFrame(line));
    waiting = [];
  });
  input.on('drain', () => {
    if (dropped === 0) return;
    const said = warning(`${dropped} log lines dropped: the journal did not keep up`);
    dropped = 0;
    input.write(relayFrame(said));
  });
  return {
    write(line) {
      if (state === 'failed') return stream.write(line);
      if (state === 'starting') {
        if (waitingBytes + line.length > MAX_QUEUED_BYTES) return void dropped++;
        waitingBytes += line.length;
        return void waiting.push(line);
      }
      if (input.writableLength > MAX_QUEUED_BYTES) return void dropped++;
      input.write(relayFrame(line));
    },
  };
}
