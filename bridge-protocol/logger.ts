// The minimal logger bridge-protocol needs. pino satisfies it; bridge-protocol never imports pino.

export interface Logger {
  trace(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
/** pino answers whether a level is written; a logger without the method is asked to write everything. */
const enabled = (log: Logger, level: Level): boolean =>
  (log as Partial<{ isLevelEnabled(l: string): boolean }>).isLevelEnabled?.(level) ?? true;

/**
 * A child logger made on its first written line. A pino child costs about 0.9 kB; one per peer and one per
 * link add up at 100 000 links, most of which never log a line at the configured level.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  return parent === silentLogger ? silentLogger : new LazyChild(parent, bindings);
}

class LazyChild implements Logger {
  #real: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}

  /** The real child, made now (and its lazy parents with it). */
  real(): Logger {
    return (this.#real ??= (this.parent instanceof LazyChild ? this.parent.real() : this.parent).child(this.bindings));
  }

  private write(level: Level, obj: object, msg: string): void {
    if (this.#real || enabled(this.parent, level)) this.real()[level](obj, msg);
  }

  isLevelEnabled(level: Level): boolean {
    return enabled(this.#real ?? this.parent, level);
  }

  trace(obj: object, msg: string): void {
    this.write('trace', obj, msg);
  }
  debug(obj: object, msg: string): void {
    this.write('debug', obj, msg);
  }
  info(obj: object, msg: string): void {
    this.write('info', obj, msg);
  }
  warn(obj: object, msg: string): void {
    this.write('warn', obj, msg);
  }
  error(obj: object, msg: string): void {
    this.write('error', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new LazyChild(this.#real ?? this, bindings);
  }
}
