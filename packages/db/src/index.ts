export type { PartitionedTable, TablePartition } from './daily-partitions.js';
export { Database, type DatabaseOptions, type Transaction } from './database.js';
export {
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterSelection,
  type DeadLetterStatus,
  type DeadLetterSummary,
  DeadLettersRepository,
} from './dead-letters-repository.js';
export {
  type AttemptRecord,
  type ClaimedDelivery,
  DeliveriesRepository,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryFilter,
  type DeliverySelection,
  type DeliveryStatus,
  type DeliverySummary,
  type Lease,
} from './deliveries-repository.js';
export {
  BACKFILL_PAGE_SIZE,
  type BackfillResult,
  type BackfillWindow,
} from './delivery-backfill.js';
export {
  type ClassifiedDatabaseError,
  classifyDatabaseError,
  DatabaseError,
  DatabaseUnavailableError,
  PermanentDatabaseError,
  TransientDatabaseError,
} from './errors.js';
export {
  type EventFilter,
  type EventPartition,
  type EventRow,
  EventsRepository,
  type EventsRepositoryOptions,
  type InsertedBatch,
  type SourceTypeCount,
  type StoredEvent,
  type StoredKey,
  type StoredKeyWithData,
  uuidV7Ms,
} from './events-repository.js';
export type { KeysetPosition, Page } from './keyset-page.js';
export { MIGRATIONS_DIR, type MigrateOptions, migrateUp } from './migrate.js';
export {
  type RejectedFilter,
  type RejectedRequestRow,
  RejectedRequestsRepository,
  type StoredRejectedRequest,
} from './rejected-requests-repository.js';
export {
  type NewSubscription,
  PREVIOUS_SECRET_VALID_HOURS,
  type Subscription,
  type SubscriptionChanges,
  type SubscriptionDeletion,
  type SubscriptionFilter,
  type SubscriptionHealth,
  SubscriptionNameTakenError,
  type SubscriptionOrdering,
  type SubscriptionState,
  SubscriptionsRepository,
} from './subscriptions-repository.js';
