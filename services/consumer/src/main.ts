import { ConfigError, createLogger, handleShutdownSignals, parseEnv } from '@webhooks/config';
import dotenv from 'dotenv';
import { ConsumerConfig } from './config.js';
import { createConsumerService } from './consumer-service.js';

dotenv.config({ quiet: true });

let config: ConsumerConfig;
try {
  config = parseEnv(ConsumerConfig, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger({
  name: 'consumer',
  level: config.LOG_LEVEL,
  pretty: process.stdout.isTTY === true,
});
const service = createConsumerService(config, logger);

handleShutdownSignals({
  process,
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  shutdown: service.stop,
});

// Neither the broker nor the database is needed to start: both are retried in the background.
service.start();
await service.app.listen({ port: config.PORT, host: config.HOST });
