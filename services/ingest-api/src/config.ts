import {
  AmqpEnv,
  BacklogEnv,
  httpEnv,
  IngestEnv,
  jsonSetting,
  LogEnv,
  QuarantineEnv,
} from '@webhooks/config';
import { z } from 'zod';
import { WebhookSources } from './signatures/webhook-sources.js';

/** The signed sources of `POST /webhook/:source`. */
export const ProviderSourcesEnv = z.object({
  /** Sources of `POST /webhook/:source` and how each is signed (JSON). Default `{}`. */
  WEBHOOK_SOURCES: jsonSetting(WebhookSources).default({}),
  /** Accept `POST /webhook/:source` for sources not in `WEBHOOK_SOURCES`, unsigned. Default false. */
  WEBHOOK_ALLOW_UNKNOWN_SOURCES: z.stringbool().default(false),
});

/** Every setting of the ingest API (see `.env.example`). */
export const IngestConfig = LogEnv.and(httpEnv(8080))
  .and(AmqpEnv)
  .and(IngestEnv)
  .and(ProviderSourcesEnv)
  .and(BacklogEnv)
  .and(QuarantineEnv);
export type IngestConfig = ReturnType<typeof IngestConfig.parse>;
