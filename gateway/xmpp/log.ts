// pino loggers for the XMPP core: one root, a child per connection (`conn`, then `jid`)
// and per feature. Secrets (passwords, SASL payloads, keys) are redacted wherever they
// appear in a log object; message bodies are logged only at trace by callers.
//
// Where lines go, as daemons do it: standard error, so standard output stays for what a command
// prints. On a terminal they are pretty (in-process, synchronous, so they never tear the status line
// the terminal shows); otherwise JSON lines. Under systemd, when standard error is the journal
// (JOURNAL_STREAM names it), each line is a journal entry of its own with its fields (journal.ts: the
// message, PRIORITY, and PEER=, CONN=… for the line's keys); without the native socket or python3, lines go
// to the journal's stream with their sd-daemon priority in front (`<4>` for warn).
import { pino, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { journalSink } from './journal.js';

/** Log object keys whose values never reach the output. */
export const REDACTED_KEYS = ['password', 'secret', 'sasl', 'saslPayload', 'key', 'keyPem', 'authorization', 'token'];

const REDACT_PATHS = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`]);

/** Something a log line can be written to (a stream, the status page's ring, a terminal). */
export interface LineSink {
  write(line: string): void;
}

export interface RootLoggerOptions {
  level?: pino.LevelWithSilent;
  /** Human-readable output; default: when standard error is a terminal. */
  pretty?: boolean;
  /** A second destination for every line (the status page's log tail), in JSON. */
  tee?: LineSink;
  /** Where lines go; default standard error (through `terminal` when given). */
  sink?: LineSink;
  /** The environment consulted for JOURNAL_STREAM; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Sees each JSON line first; true: it was shown otherwise (a progress bar) and is not written to the sink. */
  intercept?: (line: string) => boolean;
}

/** JSON lines to pretty text, synchronously, into `sink`. */
export function prettyLines(sink: LineSink, colorize: boolean): LineSink {
  const pretty = prettyFactory({ colorize });
  return { write: (line) => sink.write(pretty(line)) };
}

export function createRootLogger(opts: RootLoggerOptions = {}): Logger {
  // sonic-boom, synchronous: fast, and nothing is lost when the process dies right after a fatal line.
  const sink = opts.sink ?? pino.destination({ fd: 2, sync: true });
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  const options = { name: 'tlsim-gateway', level: opts.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const main = pretty
    ? prettyLines(sink, Boolean(process.stderr.isTTY))
    : (opts.sink === undefined && journalSink(2, sink, opts.env)) || sink;
  const tee = opts.tee;
  const intercept = opts.intercept;
  const shown: LineSink = intercept ? { write: (line) => void (intercept(line) || main.write(line)) } : main;
  const stream: LineSink = tee ? { write: (line) => (shown.write(line), tee.write(line)) } : shown;
  return pino(options, stream);
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function connectionLogger(root: Logger, conn: string, remote?: string): Logger {
  return root.child(remote ? { conn, remote } : { conn });
}
