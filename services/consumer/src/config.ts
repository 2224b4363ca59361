import { AmqpEnv, ConsumerEnv, DatabaseEnv, httpEnv, LogEnv } from '@webhooks/config';

/** Every setting of the consumer (see `.env.example`). */
export const ConsumerConfig = LogEnv.and(httpEnv(8082))
  .and(AmqpEnv)
  .and(DatabaseEnv)
  .and(ConsumerEnv);
export type ConsumerConfig = ReturnType<typeof ConsumerConfig.parse>;
