// Loads the gateway config: defaults < TOML file < environment (TLSIM_*) < flags, checked at start; a bad or
// unknown key fails with a ConfigError naming the key, the reason and where the value came from.
import { readFile } from 'node:fs/promises';
import { TomlError, parse as parseToml } from 'smol-toml';
import { ConfigError } from './xmpp/errors.js';
import { resolveConfigFile, type PathEnv } from './paths.js';
import {
  CONFIG_KEYS,
  SCHEMA,
  SECTION_DOCS,
  envName,
  splitKey,
  type Config,
  type ConfigKey,
  type KeySpec,
  type Section,
} from './config/schema.js';
import { Invalid, closest } from './config/values.js';

export type { Config, ConfigKey, LogFormat, LogLevel, TorMode, UnknownPeerPolicy } from './config/schema.js';
export { CONFIG_KEYS, envName } from './config/schema.js';

/** Environment variables that choose paths (see paths.ts), not config keys. */
const PATH_ENV = new Set(['TLSIM_DATA_DIR', 'TLSIM_CONFIG']);
const SECTION_ENV_PREFIXES = Object.keys(SECTION_DOCS).map((s) => `TLSIM_${s.toUpperCase()}_`);
/** A config file is a few hundred bytes; refuse to read something that clearly is not one. */
const MAX_FILE_BYTES = 1024 * 1024;

/** Flags as parsed from the command line (e.g. by node:util parseArgs with CONFIG_FLAG_OPTIONS). */
export type ConfigFlags = Readonly<Record<string, string | boolean | undefined>>;

/** For node:util parseArgs: the flags loadConfig and paths.ts understand. There are no secret flags, on purpose. */
export const CONFIG_FLAG_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'c2s-port': { type: 'string' },
  'peer-port': { type: 'string' },
  'websocket-port': { type: 'string' },
  'web-port': { type: 'string' },
  tor: { type: 'string' },
  mode: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

export interface LoadConfigOptions {
  readonly argvFlags?: ConfigFlags;
  readonly env?: PathEnv;
  /** Defaults to the path chosen by --config, TLSIM_CONFIG or XDG (paths.ts). */
  readonly configPath?: string;
}

export interface LoadedConfig {
  readonly config: Config;
  readonly configPath: string;
  /** False when there was no file and the defaults (plus environment and flags) were used. */
  readonly fileFound: boolean;
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<Config> {
  return (await loadConfigDetailed(opts)).config;
}

export async function loadConfigDetailed(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? {};
  const flags = opts.argvFlags ?? {};
  const configPath = opts.configPath ?? resolveConfigFile(env, { config: str(flags.config) }).path;
  const text = await readConfigFile(configPath);
  const set = new Map<ConfigKey, unknown>();
  if (text !== undefined) fromToml(text, configPath, set);
  fromEnv(env, set);
  fromFlags(flags, set);
  return { config: build(set), configPath, fileFound: text !== undefined };
}

/** Parses a config file's text (no environment, no flags): what `init` checks before writing. */
export function parseConfigText(text: string, where = 'config.toml'): Config {
  const set = new Map<ConfigKey, unknown>();
  fromToml(text, where, set);
  return build(set);
}

export function defaultConfig(): Config {
  return build(new Map());
}

/** A commented config file that `init` can write: every key with its documentation and default. */
export function renderDefaultToml(): string {
  const defaults = defaultConfig();
  const lines = [
    '# tlsim-gateway configuration.',
    '# Each setting shows its default, commented out: uncomment a line to change it.',
    '# Environment variables (TLSIM_<SECTION>_<KEY>, e.g. TLSIM_C2S_PORT) override this file,',
    '# and command-line flags (e.g. --c2s-port) override both.',
  ];
  let section: Section | undefined;
  for (const key of CONFIG_KEYS) {
    const [sec, field] = splitKey(key);
    if (sec !== section) {
      section = sec;
      lines.push('', `# ${SECTION_DOCS[sec]}`, `[${sec}]`);
    }
    const spec = SCHEMA[key] as KeySpec<unknown>;
    const value = (defaults[sec] as Record<string, unknown>)[field];
    // A secret is never written into the file, not even as an example.
    lines.push(`# ${spec.doc}`, spec.secret ? `# (environment only: ${envName(key)})` : `# ${field} = ${JSON.stringify(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function readConfigFile(path: string): Promise<string | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const why = code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(err);
    throw new ConfigError(path, `cannot read the config file: ${why}`);
  }
  if (buf.length > MAX_FILE_BYTES) throw new ConfigError(path, 'the config file is larger than 1 MiB');
  return buf.toString('utf8');
}

function fromToml(text: string, where: string, set: Map<ConfigKey, unknown>): void {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(where, `not valid TOML at line ${err.line}, column ${err.column}: ${firstLine(err.message)}`);
    }
    throw err;
  }
  const sections = Object.keys(SECTION_DOCS);
  for (const [sec, table] of Object.entries(doc)) {
    // `mode = "component"` at the top of the file: the one setting people expect there.
    if (sec === 'mode' && typeof table === 'string') {
      set.set('gateway.mode', check('gateway.mode', table, false, `in ${where}`));
      continue;
    }
    if (!sections.includes(sec)) {
      const isTable = table !== null && typeof table === 'object' && !Array.isArray(table);
      throw new ConfigError(sec, unknown(isTable ? 'section' : 'key', sec, isTable ? sections : CONFIG_KEYS, where));
    }
    if (table === null || typeof table !== 'object' || Array.isArray(table)) {
      throw new ConfigError(sec, `must be a table ([${sec}]) (in ${where})`);
    }
    for (const [field, value] of Object.entries(table)) {
      const key = `${sec}.${field}`;
      if (!isKey(key)) throw new ConfigError(key, unknown('key', key, CONFIG_KEYS, where));
      if ((SCHEMA[key] as KeySpec<unknown>).secret) {
        throw new ConfigError(key, `is a secret: set ${envName(key)} or ${key}_file, not the config file (${where})`);
      }
      set.set(key, check(key, value, false, `in ${where}`));
    }
  }
}

function fromEnv(env: PathEnv, set: Map<ConfigKey, unknown>): void {
  const byName = new Map(CONFIG_KEYS.map((k) => [envName(k), k]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TLSIM_') || PATH_ENV.has(name)) continue;
    const key = byName.get(name);
    if (!key) {
      // A misspelt setting would otherwise be ignored without a word. Other TLSIM_ variables (tooling such
      // as TLSIM_NO_INSTALL) are not ours to judge: only names in a config section or close to a real one fail.
      const names = [...byName.keys(), ...PATH_ENV];
      // Closeness is judged without the shared TLSIM_ prefix, which would make any two names look alike.
      const near = closest(name.slice(6), names.map((n) => n.slice(6)));
      if (SECTION_ENV_PREFIXES.some((p) => name.startsWith(p)) || near) {
        throw new ConfigError(name, unknown('variable', name, names, 'environment'));
      }
      continue;
    }
    // VAR= is the usual way to unset a variable for one command.
    if (value === undefined || value.trim() === '') continue;
    set.set(key, check(key, value, true, `from ${name}`));
  }
}

function fromFlags(flags: ConfigFlags, set: Map<ConfigKey, unknown>): void {
  for (const key of CONFIG_KEYS) {
    const flag = (SCHEMA[key] as KeySpec<unknown>).flag;
    if (!flag) continue;
    const value = flags[flag];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new ConfigError(key, `--${flag} needs a value`);
    set.set(key, check(key, value, true, `from --${flag}`));
  }
}

function check(key: ConfigKey, value: unknown, text: boolean, where: string): unknown {
  try {
    return (SCHEMA[key] as KeySpec<unknown>).check(value, text);
  } catch (err) {
    if (err instanceof Invalid) throw new ConfigError(key, `${err.message} (${where})`);
    throw err;
  }
}

function build(set: ReadonlyMap<ConfigKey, unknown>): Config {
  const out: Record<string, Record<string, unknown>> = {};
  const derived: ConfigKey[] = [];
  for (const key of CONFIG_KEYS) {
    const [sec, field] = splitKey(key);
    const spec = SCHEMA[key] as KeySpec<unknown>;
    out[sec] ??= {};
    if (set.has(key)) out[sec][field] = set.get(key);
    else if (spec.derive) derived.push(key);
    else out[sec][field] = structuredClone(spec.default);
  }
  for (const key of derived) {
    const [sec, field] = splitKey(key);
    out[sec]![field] = (SCHEMA[key] as KeySpec<unknown>).derive!(out as unknown as Config);
  }
  const config = out as unknown as Config;
  crossCheck(config, set);
  return deepFreeze(config);
}

const WILDCARD = new Set(['0.0.0.0', '::']);

/** Mistakes that only show when keys are seen together; caught here rather than as EADDRINUSE later. */
function crossCheck(c: Config, set: ReadonlyMap<ConfigKey, unknown>): void {
  if (c.peer.domain === c.account.domain) {
    throw new ConfigError('peer.domain', `must differ from account.domain ("${c.account.domain}"): peers and your account need domains of their own`);
  }
  if (WILDCARD.has(c.peer.advertise_host)) {
    const why = set.has('peer.advertise_host') ? '' : ` (it defaults to peer.host, which is "${c.peer.host}")`;
    throw new ConfigError('peer.advertise_host', `must be an address peers can reach, not "${c.peer.advertise_host}"${why}`);
  }
  if (c.tor.all && c.tor.mode === 'off') {
    throw new ConfigError('tor.all', 'is true, but tor.mode is "off": nothing can go through Tor; set tor.mode or tor.all = false');
  }
  const listeners: [ConfigKey, string, number][] = [
    ['c2s.port', c.c2s.host, c.c2s.port],
    ['peer.port', c.peer.host, c.peer.port],
  ];
  if (c.websocket.enabled) listeners.push(['websocket.port', c.websocket.host, c.websocket.port]);
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const [key, host, port] = listeners[i]!;
      const [otherKey, otherHost, otherPort] = listeners[j]!;
      const overlap = host === otherHost || WILDCARD.has(host) || WILDCARD.has(otherHost);
      if (port !== 0 && port === otherPort && overlap) {
        throw new ConfigError(key, `${port} is also ${otherKey}: each listener needs a port of its own`);
      }
    }
  }
}

function unknown(what: string, name: string, candidates: readonly string[], where: string): string {
  const guess = closest(name, candidates);
  return `unknown ${what}${guess ? ` (did you mean ${guess}?)` : ''} (in ${where})`;
}

function isKey(key: string): key is ConfigKey {
  return Object.hasOwn(SCHEMA, key);
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
