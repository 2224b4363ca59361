import type { Logger } from 'pino';

/** One named step of a shutdown; `undefined` results (optional parts) are fine. */
export type ShutdownStep = readonly [name: string, run: () => Promise<unknown> | unknown];

/**
 * Runs shutdown steps in order, each even if an earlier one failed (a failed step is logged
 * with its name); rejects at the end with every failure, so nothing is left open because
 * something before it broke.
 */
export async function runShutdownSteps(options: {
  logger: Logger;
  /** What is shutting down, for the final error (`"consumer"`). */
  what: string;
  steps: readonly ShutdownStep[];
}): Promise<void> {
  const failures: unknown[] = [];
  for (const [name, run] of options.steps) {
    try {
      await run();
    } catch (err) {
      options.logger.error({ err, step: name }, 'shutdown step failed');
      failures.push(err);
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, `${options.what} shutdown incomplete`);
  }
}

/**
 * A service's idempotent `stop()`: the first call runs `steps` (as `runShutdownSteps` does),
 * every later call gets the same promise.
 */
export function shutdownOnce(options: {
  logger: Logger;
  what: string;
  steps: readonly ShutdownStep[];
}): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= runShutdownSteps(options);
    return stopped;
  };
}
