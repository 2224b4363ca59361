import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilent } from 'pino';

type Level = Exclude<LevelWithSilent, 'silent'>;
type LogArgs = Parameters<FastifyBaseLogger['info']>;

/**
 * A request's logger, made only when the request logs something. Fastify gives every request
 * a pino child logger bound to its id; building it (bindings serialised, redaction set up) is a
 * measurable share of the CPU an accepted request costs, and nearly every request logs nothing.
 * This one holds the parent and the bindings, answers calls below the parent's level at once,
 * and builds the child on the first call that writes (or changes the level).
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  /** Fastify's `childLoggerFactory`: lazy unless the route sets a level of its own. */
  static factory(
    this: unknown,
    parent: FastifyBaseLogger,
    bindings: Bindings,
    options: ChildLoggerOptions,
  ): FastifyBaseLogger {
    return options.level === undefined
      ? new LazyRequestLogger(parent, bindings)
      : parent.child(bindings, options);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.#made().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#made().child(bindings, options);
  }

  fatal(...args: LogArgs): void {
    this.#write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.#write('error', args);
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args);
  }
  info(...args: LogArgs): void {
    this.#write('info', args);
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args);
  }
  silent(): void {}

  #made(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings);
    return this.#child;
  }

  #write(level: Level, args: LogArgs): void {
    if (this.#child === undefined && !isLevelEnabled(this.#parent, level)) return;
    this.#made()[level](...args);
  }
}

/** Pino's `isLevelEnabled`; a logger without it is asked every time. */
function isLevelEnabled(logger: FastifyBaseLogger, level: Level): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check === undefined ? true : check.call(logger, level);
}
