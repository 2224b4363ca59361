export {
  AmqpEnv,
  ConsumerEnv,
  DatabaseEnv,
  type HttpEnv,
  httpEnv,
  IngestEnv,
  LogEnv,
} from './env-fragments.js';
export { ConfigError, parseEnv } from './parse-env.js';
