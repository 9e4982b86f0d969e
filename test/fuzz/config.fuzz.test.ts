// Fuzzing the TOML config, environment and flags (gateway/config.ts, config/schema.ts, config/values.ts): any file
// text and any value for any key gives either a Config or a ConfigError naming the key, never another exception.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify, TomlDate } from 'smol-toml';
import { CONFIG_KEYS, envName, loadConfigDetailed, parseConfigText, type Config } from '../../gateway/config.js';
import { SCHEMA, SECTION_DOCS } from '../../gateway/config/schema.js';
import { ConfigError } from '../../gateway/xmpp/errors.js';
import { fuzzTarget } from './support.js';

const SECTIONS = Object.keys(SECTION_DOCS);
const KEY_PARTS = [...new Set(CONFIG_KEYS.flatMap((k) => k.split('.')))];
const NOWHERE = join(tmpdir(), 'tlsim-fuzz-no-such-dir', 'config.toml');

/** Strings a user (or a fuzzer) might put in any key: valid values of other keys, near misses, hostile ones. */
const word = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('local', 'component', 'auto', 'off', 'ask', 'info', 'json', 'presence', 'always', '127.0.0.1', '::', '0.0.0.0', '::1', '[::1]', 'localhost', 'peers.localhost', 'example.org', '127.0.0.1:9051', '/run/tor/control', 'https://chat.example.org', '*', 'me', 'Me', '', ' ', '1', '0', '65536', '-1', 'yes', 'true', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'a@b', 'a\u0000b', 'é', 'x'.repeat(300)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const scalar = fc.oneof(
  word,
  fc.integer({ min: -100000, max: 100000 }),
  fc.constantFrom(0, 1, 1023, 1024, 5222, 65535, 65536, 16 * 1024 * 1024 + 1, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.boolean(),
  fc.constant(new TomlDate('1979-05-27T07:32:00Z')),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...KEY_PARTS), scalar, { maxKeys: 2 }) },
);
/** A config document: real sections and keys mostly, some unknown ones, and the top-level `mode`. */
const doc = fc.dictionary(
  fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...SECTIONS) }, fc.constantFrom('mode', 'c2', 'Peer', 'x', '__proto__')),
  fc.oneof(
    { weight: 8, arbitrary: fc.dictionary(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KEY_PARTS) }, fc.constantFrom('prot', 'secret', 'x')), value, { maxKeys: 5 }) },
    { weight: 1, arbitrary: scalar },
  ),
  { maxKeys: 4 },
);

const TOML_TOKENS = ['[', ']', '[[', ']]', '=', '"', "'", '"""', "'''", '\n', '\r\n', ' ', '#', '.', ',', '{', '}', 'c2s', 'port', 'peer', 'host', 'tor', 'mode', 'log', 'level', '5222', '-1', '0x1F', '1e999', 'inf', 'nan', 'true', '1979-05-27', '07:32:00', '\\u00e9', '\\', 'é', '\u0000', '99999999999999999999'];
const tomlText = fc.array(fc.constantFrom(...TOML_TOKENS), { maxLength: 40 }).map((t) => t.join(''));

/** The keys a ConfigError may name for a document: what it set, its sections and unknown names, cross-checked keys. */
function nameable(d: Record<string, unknown>): Set<string> {
  const names = new Set<string>(CONFIG_KEYS);
  for (const [sec, table] of Object.entries(d)) {
    names.add(sec);
    if (table && typeof table === 'object') for (const f of Object.keys(table)) names.add(`${sec}.${f}`);
  }
  return names;
}

/** True for a frozen Config, or a ConfigError naming one of `names` (any name when not given). */
function configOrKeyError(fn: () => Config, names?: Set<string>): boolean {
  try {
    const c = fn();
    return Object.isFrozen(c) && Object.isFrozen(c.peer);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return names === undefined || names.has(err.key);
  }
}

const ENUM_KEYS = CONFIG_KEYS.filter((k) => ['gateway.mode', 'peer.unknown_policy', 'tor.mode', 'component.peer_session', 'log.level', 'log.format'].includes(k));

fuzzTarget('config', (t) => {
  t.property('any text as a config file: a Config or a ConfigError, never another exception', [tomlText], (text) =>
    configOrKeyError(() => parseConfigText(text)),
  { runs: 1500 });

  t.property('deeply nested TOML is refused as a ConfigError, not a stack overflow', [fc.integer({ min: 1, max: 20000 }), fc.constantFrom('array', 'inline table')], (depth, kind) => {
    const text = kind === 'array' ? `[peer]\nport = ${'['.repeat(depth)}${']'.repeat(depth)}\n` : `[peer]\nport = ${'{a='.repeat(depth)}1${'}'.repeat(depth)}\n`;
    return configOrKeyError(() => parseConfigText(text), new Set(['config.toml', 'peer.port']));
  }, { runs: 30, weight: 0.01 });

  t.property('any value for any key: a Config or a ConfigError naming the key', [doc], (d) => {
    let text: string;
    try {
      text = stringify(d);
    } catch {
      return fc.pre(false); // not representable in TOML (e.g. NaN inside some arrays): nothing to test
    }
    return configOrKeyError(() => parseConfigText(text), nameable(d));
  }, { runs: 2000 });

  t.property('an enum key refuses any other string by listing what it accepts', [fc.constantFrom(...ENUM_KEYS), word], (key, v) => {
    const [sec, field] = key.split('.') as [string, string];
    try {
      parseConfigText(stringify({ [sec]: { [field]: v } }));
      return true;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.key !== key || err.message.includes('must be one of');
    }
  }, { runs: 1000 });

  t.asyncProperty('any environment and flags: a Config or a ConfigError naming the key or variable', [
    fc.dictionary(fc.oneof(fc.constantFrom(...CONFIG_KEYS.map(envName)), fc.constantFrom('TLSIM_C2S_PROT', 'TLSIM_NO_INSTALL', 'TLSIM_X', 'HOME')), word, { maxKeys: 4 }),
    fc.dictionary(fc.constantFrom(...CONFIG_KEYS.map((k) => (SCHEMA[k] as { flag?: string }).flag).filter((f): f is string => f !== undefined)), fc.oneof(word, fc.boolean()), { maxKeys: 2 }),
  ], async (env, flags) => {
    try {
      await loadConfigDetailed({ env, argvFlags: flags, configPath: NOWHERE });
      return true;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return (CONFIG_KEYS as string[]).includes(err.key) || err.key in env;
    }
  }, { runs: 500, weight: 0.5 });
});
