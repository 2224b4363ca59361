import { runService } from '@webhooks/config';
import dotenv from 'dotenv';
import { ConsumerConfig } from './config.js';
import { createConsumerService } from './consumer-service.js';

dotenv.config({ quiet: true });

// Neither the broker nor the database is needed to start: both are retried in the background.
await runService({
  name: 'consumer',
  process,
  settings: ConsumerConfig,
  createService: createConsumerService,
});
