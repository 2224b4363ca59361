import {
  AmqpEnv,
  ConsumerEnv,
  DatabaseEnv,
  DeliveryEnv,
  httpEnv,
  LogEnv,
  QuarantineEnv,
  RejectedRetentionEnv,
  RetentionEnv,
} from '@webhooks/config';

/** Every setting of the consumer (see `.env.example`). */
export const ConsumerConfig = LogEnv.and(httpEnv(8082))
  .and(AmqpEnv)
  .and(DatabaseEnv)
  .and(ConsumerEnv)
  .and(RetentionEnv)
  .and(QuarantineEnv)
  .and(RejectedRetentionEnv)
  .and(DeliveryEnv);
export type ConsumerConfig = ReturnType<typeof ConsumerConfig.parse>;
