// What every CLI command shares: argument parsing with --help, the global flags, the paths and the config,
// and the exit-code convention (0 ok, 1 error with a message on stderr, 2 usage).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CONFIG_FLAG_OPTIONS, loadConfigDetailed, type Config } from '../config.js';
import { resolvePaths, type GatewayPaths } from '../paths.js';

/** The command line was wrong: usage text on stderr, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Something went wrong that the user can act on: the message on stderr, exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const GLOBAL_HELP = `Global options (every command):
  --data-dir DIR        data directory (default $XDG_DATA_HOME/tlsim-gateway; env TLSIM_DATA_DIR)
  --config FILE         config file (default $XDG_CONFIG_HOME/tlsim-gateway/config.toml; env TLSIM_CONFIG)
  --c2s-port N          XMPP client port (c2s.port, default 5222; 0 picks a free one)
  --peer-port N         peer port (peer.port, default 18765)
  --websocket-port N    XMPP over WebSocket port (websocket.port, default 5280)
  --web-port N          status page and web chat port (web.port, default 5443; 0 picks a free one)
  --tor MODE            tor.mode: auto (default), launch, control, off (env TLSIM_TOR_MODE)
  --log-level LEVEL     log.level: trace, debug, info, warn, error, fatal, silent
  -h, --help            this help`;

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses one command's arguments (global flags included). Returns undefined when --help was given
 * (the usage is then printed on stdout).
 */
export function parseCommandArgs(args: string[], usage: string, options: Options = {}): Parsed | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...CONFIG_FLAG_OPTIONS, help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
  const values = parsed.values as Parsed['values'];
  if (values.help) {
    process.stdout.write(`${usage}\n\n${GLOBAL_HELP}\n`);
    return undefined;
  }
  return { values, positionals: parsed.positionals };
}

export interface CliContext {
  paths: GatewayPaths;
  dataDir: string;
  config: Config;
  configPath: string;
  configFound: boolean;
  /** Re-reads the config with the same flags and environment (SIGHUP). */
  reloadConfig(): Promise<Config>;
}

/** Paths (flag > environment > XDG) and the config (defaults < file < environment < flags), checked. */
export async function loadContext(values: Parsed['values']): Promise<CliContext> {
  const env = process.env;
  const paths = resolvePaths(env, { 'data-dir': str(values['data-dir']), config: str(values.config) });
  const load = () => loadConfigDetailed({ argvFlags: values, env, configPath: paths.configFile.path });
  const loaded = await load();
  return {
    paths,
    dataDir: paths.dataDir.path,
    config: loaded.config,
    configPath: loaded.configPath,
    configFound: loaded.fileFound,
    reloadConfig: async () => (await load()).config,
  };
}

/** Splits `[global flags] command [args]`: the command is the first word that is not a flag or a flag's value. */
export function splitCommand(argv: string[]): { command: string | undefined; rest: string[] } {
  const takesValue = new Set(Object.keys(CONFIG_FLAG_OPTIONS).map((k) => `--${k}`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (takesValue.has(a)) i++;
      continue;
    }
    return { command: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: undefined, rest: argv };
}

export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
