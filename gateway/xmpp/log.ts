// pino loggers for the XMPP core: one root, a child per connection (`conn`, then `jid`)
// and per feature. Secrets (passwords, SASL payloads, keys) are redacted wherever they
// appear in a log object; message bodies are logged only at trace by callers.
import { pino, type Logger } from 'pino';

/** Log object keys whose values never reach the output. */
export const REDACTED_KEYS = ['password', 'secret', 'sasl', 'saslPayload', 'key', 'keyPem', 'authorization', 'token'];

const REDACT_PATHS = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`]);

export interface RootLoggerOptions {
  level?: pino.LevelWithSilent;
  /** Human-readable output (pino-pretty); default: when stdout is a terminal. */
  pretty?: boolean;
  /** A second destination for every line (the status page's log tail), next to stdout. */
  tee?: { write(line: string): void };
}

export function createRootLogger(opts: RootLoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const options = { name: 'tlsim-gateway', level: opts.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const prettyTarget = { target: 'pino-pretty', options: { colorize: true } };
  if (!opts.tee) return pino({ ...options, ...(pretty ? { transport: prettyTarget } : {}) });
  // Streams filter by their own level: 'trace' leaves the choice to the logger's level (which reload changes).
  const main = pretty ? pino.transport(prettyTarget) : pino.destination({ fd: 1, sync: true });
  return pino(options, pino.multistream([{ stream: main, level: 'trace' }, { stream: opts.tee, level: 'trace' }]));
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function connectionLogger(root: Logger, conn: string, remote?: string): Logger {
  return root.child(remote ? { conn, remote } : { conn });
}
