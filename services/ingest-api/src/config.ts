import { AmqpEnv, httpEnv, IngestEnv, LogEnv } from '@webhooks/config';

/** Every setting of the ingest API (see `.env.example`). */
export const IngestConfig = LogEnv.and(httpEnv(8080)).and(AmqpEnv).and(IngestEnv);
export type IngestConfig = ReturnType<typeof IngestConfig.parse>;
