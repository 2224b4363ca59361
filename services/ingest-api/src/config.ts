import { AmqpEnv, BacklogEnv, httpEnv, IngestEnv, LogEnv, QuarantineEnv } from '@webhooks/config';
import { ProviderSourcesEnv } from '@webhooks/providers';

/** Every setting of the ingest API (see `.env.example`). */
export const IngestConfig = LogEnv.and(httpEnv(8080))
  .and(AmqpEnv)
  .and(IngestEnv)
  .and(ProviderSourcesEnv)
  .and(BacklogEnv)
  .and(QuarantineEnv);
export type IngestConfig = ReturnType<typeof IngestConfig.parse>;
