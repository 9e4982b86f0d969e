// GLib key files (the INI-like format of Profanity's accounts and tlscerts files, GKeyFile): read the groups,
// and set keys in one group while every other byte of the file stays as it was. The file is not
// re-serialized, so other accounts, keys we do not know and the user's comments all survive.

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

interface Group {
  name: string;
  /** Offsets of the header line's start and of the group's end (the next header, or the end of the file). */
  start: number;
  end: number;
  entries: Map<string, { value: string; start: number; end: number }>;
}

/** GKeyFile's escapes in values: \s (a leading space), \n, \t, \r and \\. */
export function escapeValue(v: string): string {
  return v
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/\r/g, '\\r')
    .replace(/^ /, '\\s');
}

function unescapeValue(v: string): string {
  return v.replace(/\\([sntr\\])/g, (_m, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

function scan(text: string, what: string): Group[] {
  const groups: Group[] = [];
  let at = 0;
  let lineNo = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl + 1;
    const line = text.slice(at, end).replace(/\r?\n$/, '');
    lineNo++;
    const trimmed = line.trim();
    const header = /^\[([^\]\x00-\x1f]+)\]$/.exec(trimmed);
    if (header) {
      if (groups.length) groups.at(-1)!.end = at;
      groups.push({ name: header[1]!, start: at, end: text.length, entries: new Map() });
    } else if (trimmed && !trimmed.startsWith('#')) {
      const eq = line.indexOf('=');
      if (eq <= 0 || !groups.length) throw new KeyFileError(`${what}: line ${lineNo} is neither a [group], a key=value nor a comment`);
      groups.at(-1)!.entries.set(line.slice(0, eq).trim(), { value: unescapeValue(line.slice(eq + 1).replace(/^ +/, '')), start: at, end });
    }
    at = end;
  }
  return groups;
}

/** Each group's keys and (unescaped) values, in file order. */
export function readKeyFile(text: string, what = 'key file'): Map<string, Map<string, string>> {
  return new Map(scan(text, what).map((g) => [g.name, new Map([...g.entries].map(([k, e]) => [k, e.value]))]));
}

export interface GroupChange {
  /** Keys set to these values (replaced in place where present, else added at the group's end). */
  set: Record<string, string>;
  /** Keys set only where the group does not have them yet (a user's own choice wins). */
  defaults?: Record<string, string>;
  /** Keys removed. */
  remove?: string[];
}

export interface KeyFileMerge {
  text: string;
  change: 'added' | 'updated' | 'unchanged';
  /** The other groups of the file (all kept). */
  others: number;
}

/** Applies `change` to group `name` of `text` (undefined: no file yet), adding the group at the end if it is not there. */
export function mergeGroup(text: string | undefined, name: string, change: GroupChange, what = 'key file'): KeyFileMerge {
  // A last line without its newline gets one, so that lines added after it stay lines of their own.
  const old = text === undefined || text === '' || text.endsWith('\n') ? (text ?? '') : `${text}\n`;
  const groups = scan(old, what);
  const group = groups.find((g) => g.name === name);
  const line = (k: string, v: string): string => `${k}=${escapeValue(v)}\n`;
  if (!group) {
    const body = Object.entries({ ...change.defaults, ...change.set })
      .map(([k, v]) => line(k, v))
      .join('');
    const sep = old === '' ? '' : old.endsWith('\n\n') ? '' : old.endsWith('\n') ? '\n' : '\n\n';
    return { text: `${old}${sep}[${name}]\n${body}`, change: 'added', others: groups.length };
  }
  // Edits from the end backwards so earlier offsets stay valid.
  const edits: { start: number; end: number; text: string }[] = [];
  const added: string[] = [];
  const want = { ...Object.fromEntries(Object.entries(change.defaults ?? {}).filter(([k]) => !group.entries.has(k))), ...change.set };
  for (const [k, v] of Object.entries(want)) {
    const e = group.entries.get(k);
    if (!e) added.push(line(k, v));
    else if (e.value !== v) edits.push({ start: e.start, end: e.end, text: line(k, v) });
  }
  for (const k of change.remove ?? []) {
    const e = group.entries.get(k);
    if (e) edits.push({ start: e.start, end: e.end, text: '' });
  }
  if (added.length) {
    // After the group's last key line, before the blank lines that separate it from the next group.
    const lastKey = Math.max(old.indexOf('\n', group.start) + 1, ...[...group.entries.values()].map((e) => e.end));
    const at = Math.min(lastKey, group.end);
    edits.push({ start: at, end: at, text: added.join('') });
  }
  if (!edits.length) return { text: text ?? '', change: 'unchanged', others: groups.length - 1 };
  let out = old;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out, change: 'updated', others: groups.length - 1 };
}
