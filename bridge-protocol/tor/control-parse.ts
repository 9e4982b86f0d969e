// Tor control-protocol codec, pure: reply framing (control-spec §2.3, §4), quoting (§2.1), event arguments; no sockets.
//
// A reply is lines `NNN-text` (more follows), `NNN+text` (a dot-terminated, dot-stuffed data
// block follows) and a final `NNN text`. Async events are replies with code 650 and may come
// between replies, never inside one (research/tor.md §2.1).

/** Tor answered a command with an error; `code` is tor's own (510 unknown command, 552 unknown key, 515 bad auth...). */
export class TorControlError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** The command keyword (never its arguments, which may hold secrets). */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'TorControlError';
  }
}

/** Something on our side of Tor went wrong; `reason` is stable for programs. */
export type TorErrorReason =
  | 'protocol' // tor sent something that is not the control protocol (or too much of it)
  | 'closed' // the control connection is gone
  | 'auth' // no usable authentication method, bad cookie, forged SERVERHASH
  | 'spawn' // tor could not be started
  | 'exited' // our tor exited
  | 'control-port' // tor did not write its control port in time
  | 'bootstrap-stuck';

export class TorError extends Error {
  constructor(
    readonly reason: TorErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TorError';
  }
}

export interface ReplyLine {
  code: number;
  /** '-' mid line, '+' line followed by a data block, ' ' final line. */
  sep: '-' | '+' | ' ';
  text: string;
  /** For '+' lines: the data block, dot-unstuffed, lines joined with '\n'. */
  data?: string;
}

export interface Reply {
  /** The final line's code (replies mixing codes are allowed by the spec; the last one decides). */
  code: number;
  lines: ReplyLine[];
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Turns bytes from tor into whole replies; throws TorError('protocol') on garbage or when a limit is exceeded. */
export class ReplyParser {
  private pending: Buffer = Buffer.alloc(0);
  private lines: ReplyLine[] = [];
  private data: string[] | undefined;
  private replyBytes = 0;

  constructor(
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    private readonly maxReplyBytes = DEFAULT_MAX_REPLY_BYTES,
  ) {}

  push(chunk: Buffer): Reply[] {
    const out: Reply[] = [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (;;) {
      const lf = this.pending.indexOf(0x0a, start);
      if (lf < 0) break;
      if (lf - start > this.maxLineBytes) throw tooLong(this.maxLineBytes);
      const end = lf > start && this.pending[lf - 1] === 0x0d ? lf - 1 : lf;
      const reply = this.line(this.pending.toString('utf8', start, end), lf + 1 - start);
      if (reply) out.push(reply);
      start = lf + 1;
    }
    this.pending = this.pending.subarray(start);
    if (this.pending.length > this.maxLineBytes) throw tooLong(this.maxLineBytes);
    return out;
  }

  private line(text: string, bytes: number): Reply | undefined {
    this.replyBytes += bytes;
    if (this.replyBytes > this.maxReplyBytes) {
      throw new TorError('protocol', `tor sent a reply over ${this.maxReplyBytes} bytes`);
    }
    if (this.data) {
      if (text === '.') {
        this.lines[this.lines.length - 1]!.data = this.data.join('\n');
        this.data = undefined;
      } else {
        this.data.push(text.startsWith('.') ? text.slice(1) : text);
      }
      return undefined;
    }
    const m = /^(\d{3})([- +])(.*)$/s.exec(text);
    if (!m) throw new TorError('protocol', `tor sent a malformed reply line: ${JSON.stringify(text.slice(0, 80))}`);
    const line: ReplyLine = { code: Number(m[1]), sep: m[2] as ReplyLine['sep'], text: m[3]! };
    this.lines.push(line);
    if (line.sep === '+') this.data = [];
    if (line.sep !== ' ') return undefined;
    const reply: Reply = { code: line.code, lines: this.lines };
    this.lines = [];
    this.replyBytes = 0;
    return reply;
  }
}

function tooLong(max: number): TorError {
  return new TorError('protocol', `tor sent a line over ${max} bytes`);
}

/** An async event: its type (first word), the rest of the first line, and every line (multi-line events). */
export interface TorEvent {
  type: string;
  /** First line without the type, e.g. `NOTICE BOOTSTRAP PROGRESS=5 ...` for STATUS_CLIENT. */
  body: string;
  lines: ReplyLine[];
}

export function toEvent(reply: Reply): TorEvent {
  const first = reply.lines[0]!.text;
  const sp = first.indexOf(' ');
  return {
    type: sp < 0 ? first : first.slice(0, sp),
    body: sp < 0 ? '' : first.slice(sp + 1),
    lines: reply.lines,
  };
}

/** A QuotedString argument (§2.1): backslash and double quote escaped; CR/LF refused (they would end the command). */
export function quote(value: string): string {
  checkArg(value);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Refuses CR, LF and NUL in anything we put on a command line: they would inject a second command. */
export function checkArg(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new RangeError('a tor control argument must not contain CR, LF or NUL');
  return value;
}

const CESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };

/** Undoes CString quoting (§2.1.1): `\n \t \r \\ \" \'` and octal `\NNN`. `s` is the text between the quotes. */
export function unescapeCString(s: string): string {
  return s.replace(/\\([0-7]{1,3}|.)/gs, (_m, e: string) => {
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    return CESCAPES[e] ?? e;
  });
}

export interface Args {
  /** Tokens without `=`, in order (quoted ones unescaped). */
  positional: string[];
  /** KEY=value and KEY="quoted value" pairs; the last one wins. */
  kv: Record<string, string>;
}

/** Splits `A B KEY=v KEY2="x y \"z\""` into positional tokens and key/value pairs. Unknown keys are kept, never refused. */
export function parseArgs(text: string): Args {
  const positional: string[] = [];
  const kv: Record<string, string> = {};
  const re = /\s*(?:([^\s="]+)=)?(?:"((?:[^"\\]|\\.)*)"|(\S*))/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    if (m[0].length === 0) break;
    const value = m[2] !== undefined ? unescapeCString(m[2]) : (m[3] ?? '');
    if (m[1] !== undefined) kv[m[1]] = value;
    else if (m[2] !== undefined || value !== '') positional.push(value);
  }
  return { positional, kv };
}

export interface BootstrapStatus {
  severity: string;
  progress: number;
  tag: string;
  summary: string;
  /** Only on WARN problems: tor's own words, and whether tor thinks a user should see it. */
  warning?: string;
  reason?: string;
  recommendation?: string;
  count?: number;
  host?: string;
}

/** Parses `NOTICE BOOTSTRAP PROGRESS=.. TAG=.. SUMMARY=".." [WARNING=".." ...]` (status/bootstrap-phase and STATUS_CLIENT). */
export function parseBootstrap(text: string): BootstrapStatus | undefined {
  const { positional, kv } = parseArgs(text);
  if (positional[1] !== 'BOOTSTRAP' || kv.PROGRESS === undefined) return undefined;
  const status: BootstrapStatus = {
    severity: positional[0] ?? 'NOTICE',
    progress: Number(kv.PROGRESS),
    tag: kv.TAG ?? '',
    summary: kv.SUMMARY ?? '',
  };
  if (!Number.isFinite(status.progress)) return undefined;
  if (kv.WARNING !== undefined) status.warning = kv.WARNING;
  if (kv.REASON !== undefined) status.reason = kv.REASON;
  if (kv.RECOMMENDATION !== undefined) status.recommendation = kv.RECOMMENDATION;
  if (kv.COUNT !== undefined) status.count = Number(kv.COUNT);
  if (kv.HOST !== undefined) status.host = kv.HOST;
  return status;
}

export interface HsDescEvent {
  action: string;
  /** The service id (56 chars, no `.onion`). */
  address: string;
  /** Printed as UNKNOWN by tor 0.4.9 although the spec says NO_AUTH: do not rely on it. */
  authType: string;
  hsDir: string;
  descriptorId?: string;
  reason?: string;
  kv: Record<string, string>;
}

/** HS_DESC event body, positional: `Action Address AuthType HsDir [DescriptorID] [KEY=...]` (§4.1.25). */
export function parseHsDesc(body: string): HsDescEvent | undefined {
  const { positional, kv } = parseArgs(body);
  const [action, address, authType, hsDir, descriptorId] = positional;
  if (!action || !address) return undefined;
  const ev: HsDescEvent = { action, address, authType: authType ?? '', hsDir: hsDir ?? '', kv };
  if (descriptorId !== undefined) ev.descriptorId = descriptorId;
  if (kv.REASON !== undefined) ev.reason = kv.REASON;
  return ev;
}

/** `key=value` lines of a GETINFO reply (single-line values and data blocks), up to the final `250 OK`. */
export function parseKeyValueLines(reply: Reply): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of reply.lines) {
    const eq = line.text.indexOf('=');
    if (eq < 0) continue; // the final "OK"
    const key = line.text.slice(0, eq);
    out.set(key, line.sep === '+' ? (line.data ?? '') : line.text.slice(eq + 1));
  }
  return out;
}

/** GETCONF: every line (the last one too) is `Key=Value`, or a bare `Key` for an unset option; keys repeat. */
export function parseConfLines(reply: Reply): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of reply.lines) {
    if (line.text === 'OK' && line.sep === ' ' && reply.lines.length === 1) continue;
    const eq = line.text.indexOf('=');
    const key = eq < 0 ? line.text : line.text.slice(0, eq);
    const values = out.get(key) ?? [];
    if (eq >= 0) values.push(line.sep === '+' ? (line.data ?? '') : line.text.slice(eq + 1));
    out.set(key, values);
  }
  return out;
}
