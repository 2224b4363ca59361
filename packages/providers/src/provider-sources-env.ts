import { jsonSetting } from '@webhooks/config';
import { z } from 'zod';
import { WebhookSources } from './signatures/webhook-sources.js';

/**
 * The signed sources of `POST /webhook/:source`, read by the ingest API and by `pnpm
 * rejected:replay`, which verifies kept requests again with the same settings.
 */
export const ProviderSourcesEnv = z.object({
  /** Sources of `POST /webhook/:source` and how each is signed (JSON). Default `{}`. */
  WEBHOOK_SOURCES: jsonSetting(WebhookSources).default({}),
  /** Accept `POST /webhook/:source` for sources not in `WEBHOOK_SOURCES`, unsigned. Default false. */
  WEBHOOK_ALLOW_UNKNOWN_SOURCES: z.stringbool().default(false),
});
