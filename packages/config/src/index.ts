export { BacklogEnv } from './backlog-env.js';
export { type Cidr, parseCidr } from './cidr.js';
export { type ConsumerRole, DeliveryEnv } from './delivery-env.js';
export {
  AmqpEnv,
  ConsumerEnv,
  DatabaseEnv,
  httpEnv,
  IngestEnv,
  LogEnv,
  MigrationsEnv,
  RetentionEnv,
} from './env-fragments.js';
export { jsonSetting } from './json-setting.js';
export { createLogger, type LoggerOptions } from './logger.js';
export { ConfigError, parseEnv } from './parse-env.js';
export {
  counter,
  gauge,
  histogram,
  type MetricDefinition,
  serviceRegistry,
} from './prometheus-metrics.js';
export { QuarantineEnv, RejectedRetentionEnv } from './quarantine-env.js';
export {
  type RunnableService,
  type RunServiceOptions,
  runService,
  type ServiceProcess,
} from './run-service.js';
export {
  handleShutdownSignals,
  type ShutdownSignalOptions,
  type SignalTarget,
} from './shutdown-signals.js';
export { runShutdownSteps, type ShutdownStep, shutdownOnce } from './shutdown-steps.js';
