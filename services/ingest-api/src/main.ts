import { runService } from '@webhooks/config';
import dotenv from 'dotenv';
import { IngestConfig } from './config.js';
import { createIngestService } from './ingest-service.js';

dotenv.config({ quiet: true });

// The broker is not needed to start: it is retried in the background, and requests get 503.
await runService({
  name: 'ingest-api',
  process,
  settings: IngestConfig,
  createService: createIngestService,
});
