import type { Logger } from 'pino';

/** The part of `process` that shutdown handling needs; `main.ts` passes the real one. */
export interface SignalTarget {
  on(signal: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never;
}

export interface ShutdownSignalOptions {
  process: SignalTarget;
  logger: Logger;
  /** After this long the process exits with code 1 whatever is still open. */
  timeoutMs: number;
  /** Closes everything the service opened, in reverse order. */
  shutdown: () => Promise<void>;
}

/**
 * SIGTERM/SIGINT start a graceful shutdown bounded by `timeoutMs`; a second signal exits at
 * once. Exit code 0 only when every close step finished in time.
 */
export function handleShutdownSignals(options: ShutdownSignalOptions): void {
  const { process, logger, timeoutMs, shutdown } = options;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out: exiting');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    shutdown().then(
      () => {
        clearTimeout(force);
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
