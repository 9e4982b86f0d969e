// Where the gateway keeps its data and finds its config file: flag > environment > XDG default.
// Pure functions: the caller hands in the environment, the flags, the home directory and the cwd,
// so tests (and the future transport mode, which may run several instances) never touch process state.
import { isAbsolute, join, resolve } from 'node:path';

export const APP_DIR_NAME = 'tlsim-gateway';
export const CONFIG_FILE_NAME = 'config.toml';
export const DATABASE_FILE_NAME = 'gateway.db';

/** The environment variables that choose paths (a plain record, so `process.env` fits). */
export type PathEnv = Readonly<Record<string, string | undefined>>;

/** Path flags as parsed from the command line: `--data-dir DIR`, `--config FILE`. */
export interface PathFlags {
  readonly 'data-dir'?: string;
  readonly config?: string;
}

export interface PathContext {
  /** The user's home directory; defaults to `env.HOME`. */
  readonly home?: string;
  /** Relative flag and environment values resolve against this; defaults to `process.cwd()`. */
  readonly cwd?: string;
}

export type PathSource = 'flag' | 'env' | 'xdg' | 'default';

export interface ResolvedPath {
  readonly path: string;
  /** Where the path came from, so `tlsim-gateway` can say why it uses that directory. */
  readonly source: PathSource;
}

export interface GatewayPaths {
  readonly dataDir: ResolvedPath;
  readonly configFile: ResolvedPath;
}

export function resolveDataDir(env: PathEnv, flags: PathFlags = {}, ctx: PathContext = {}): ResolvedPath {
  return pick(flags['data-dir'], env.TLSIM_DATA_DIR, env.XDG_DATA_HOME, ['.local', 'share'], [APP_DIR_NAME], env, ctx);
}

export function resolveConfigFile(env: PathEnv, flags: PathFlags = {}, ctx: PathContext = {}): ResolvedPath {
  return pick(
    flags.config,
    env.TLSIM_CONFIG,
    env.XDG_CONFIG_HOME,
    ['.config'],
    [APP_DIR_NAME, CONFIG_FILE_NAME],
    env,
    ctx,
  );
}

export function resolvePaths(env: PathEnv, flags: PathFlags = {}, ctx: PathContext = {}): GatewayPaths {
  return { dataDir: resolveDataDir(env, flags, ctx), configFile: resolveConfigFile(env, flags, ctx) };
}

/** The one SQLite database of a data directory. */
export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE_NAME);
}

function pick(
  flag: string | undefined,
  envValue: string | undefined,
  xdgBase: string | undefined,
  homeFallback: string[],
  tail: string[],
  env: PathEnv,
  ctx: PathContext,
): ResolvedPath {
  const home = ctx.home ?? env.HOME;
  const cwd = ctx.cwd ?? process.cwd();
  if (nonEmpty(flag)) return { path: absolute(flag, home, cwd), source: 'flag' };
  if (nonEmpty(envValue)) return { path: absolute(envValue, home, cwd), source: 'env' };
  // The XDG spec says a relative XDG_*_HOME is invalid and must be ignored.
  if (nonEmpty(xdgBase) && isAbsolute(xdgBase)) return { path: join(xdgBase, ...tail), source: 'xdg' };
  if (!nonEmpty(home)) {
    throw new Error('cannot find the home directory (HOME is not set): pass --data-dir and --config');
  }
  return { path: join(home, ...homeFallback, ...tail), source: 'default' };
}

function nonEmpty(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== '';
}

/** `~/x` is expanded because a quoted environment value (TLSIM_DATA_DIR="~/x") is not expanded by the shell. */
function absolute(p: string, home: string | undefined, cwd: string): string {
  if (home && (p === '~' || p.startsWith('~/'))) return join(home, p.slice(1));
  return resolve(cwd, p);
}
