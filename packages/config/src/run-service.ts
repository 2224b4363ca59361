import type { Logger } from 'pino';
import type { z } from 'zod';
import { createLogger } from './logger.js';
import { ConfigError, parseEnv } from './parse-env.js';
import { handleShutdownSignals, type SignalTarget } from './shutdown-signals.js';

/** The settings of every service (`LogEnv` and `httpEnv`): logging, listening, stopping. */
interface ServiceSettings {
  LOG_LEVEL: string;
  PORT: number;
  HOST: string;
  SHUTDOWN_TIMEOUT_MS: number;
}

/** A service as `createIngestService` and `createConsumerService` return it. */
export interface RunnableService {
  /** Its HTTP app, which never listens by itself. */
  readonly app: { listen(options: { port: number; host: string }): Promise<unknown> };
  start(): void;
  stop(): Promise<void>;
}

/** The part of `process` a service's run needs; `main.ts` passes the real one. */
export interface ServiceProcess extends SignalTarget {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { isTTY?: boolean };
}

export interface RunServiceOptions<S extends z.ZodType<ServiceSettings>> {
  /** The logger's name. */
  name: string;
  process: ServiceProcess;
  /** The service's settings schema, parsed from `process.env`. */
  settings: S;
  createService: (config: z.infer<S>, logger: Logger) => RunnableService;
}

/**
 * What a service's `main.ts` does with its process: parses the settings (bad ones are all
 * printed, then exit 1), builds the logger (pretty only on a terminal), creates the service,
 * hands SIGTERM/SIGINT to a graceful stop bounded by `SHUTDOWN_TIMEOUT_MS`, starts the service
 * and listens.
 */
export async function runService<S extends z.ZodType<ServiceSettings>>(
  options: RunServiceOptions<S>,
): Promise<void> {
  const { process } = options;
  let config: z.infer<S>;
  try {
    config = parseEnv(options.settings, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return process.exit(1);
  }
  const logger = createLogger({
    name: options.name,
    level: config.LOG_LEVEL,
    pretty: process.stdout.isTTY === true,
  });
  const service = options.createService(config, logger);
  handleShutdownSignals({
    process,
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    shutdown: service.stop,
  });
  service.start();
  await service.app.listen({ port: config.PORT, host: config.HOST });
}
