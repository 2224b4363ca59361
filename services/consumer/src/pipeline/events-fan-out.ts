import { type QueueMessage, stringifyExactJson } from '@webhooks/contracts';
import type { EventsRepository, StoredKey } from '@webhooks/db';
import {
  type ConfirmPublisher,
  QueueUnavailableError,
  type StoredEventMessage,
  storedEventMessage,
} from '@webhooks/queue';
import type { Logger } from 'pino';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { rowKey } from './store-batch.js';

/** One stored event of a batch, to publish to the events exchange. */
export interface FanOutItem {
  event: QueueMessage;
  /** The row, when this batch's insert stored it; none when it was stored before. */
  key: StoredKey | undefined;
  /** `event.data` as exact JSON, when the insert made it already; made from it otherwise. */
  dataJson?: string | undefined;
  requestId: string | undefined;
}

export type FanOutOutcome = { published: true } | { published: false; error: Error };

/** Publishes the stored events of one batch; one outcome per item, in order. Never throws. */
export type FanOut = (items: readonly FanOutItem[]) => Promise<FanOutOutcome[]>;

/** The fan-out failed unexpectedly (a bug): its events count as not published. */
export class FanOutError extends Error {
  readonly code = 'FAN_OUT_FAILED';
  override name = 'FanOutError';

  constructor(cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`publishing to the events exchange failed: ${detail}`, { cause });
  }
}

/** The stored row of an event could not be read, so it could not be published. */
export class StoredRowLookupError extends Error {
  readonly code = 'STORED_ROW_LOOKUP_FAILED';
  override name = 'StoredRowLookupError';
}

export interface EventsFanOutOptions {
  /** The events exchange (topic, declared by the publisher). */
  exchange: string;
  /** Confirm publisher; the exchange's messages are not `mandatory`. */
  publisher: Pick<ConfirmPublisher, 'publish'>;
  /** Reads the rows of events found already stored (a redelivery after a crash). */
  events: Pick<EventsRepository, 'findStored'>;
  metrics: Pick<ConsumerMetrics, 'eventsPublished' | 'eventsPublishFailures'>;
  logger: Logger;
}

/** What one row is published as, or why it cannot be. */
type Publishable = StoredEventMessage | Error | 'gone';

/**
 * Publishes every stored event of a batch to the events exchange, at least once: the whole
 * batch is sent at once and its confirms awaited together (one round trip per batch, not per
 * event). A row this batch stored is published from the insert's answer; a row stored before
 * (the consumer died between commit and publish, and the message came again) is read back
 * first, with its data as stored, so the redelivery publishes it. Each row is published once
 * per batch, however many of its messages the batch holds.
 */
export function eventsFanOut(options: EventsFanOutOptions): FanOut {
  return async (items) => {
    const rows = await publishableRows(items, options.events);
    const confirms = new Map<string, Promise<void>>();
    for (const row of rows) {
      if (typeof row === 'string' || row instanceof Error || confirms.has(row.rowId)) continue;
      confirms.set(row.rowId, options.publisher.publish(storedEventMessage(options.exchange, row)));
    }
    const results = new Map<string, Error | undefined>();
    await Promise.all(
      [...confirms].map(async ([rowId, confirmed]) => {
        results.set(rowId, await confirmed.then(() => undefined, asError));
      }),
    );
    report(options, [...results.values()], rows);
    return rows.map((row): FanOutOutcome => {
      // Gone since (retention): nothing is owed for a row that is no longer stored.
      if (row === 'gone') return { published: true };
      const error = row instanceof Error ? row : results.get(row.rowId);
      return error === undefined ? { published: true } : { published: false, error };
    });
  };
}

/** Each item's message, reading the rows stored before in one query (only when there are some). */
async function publishableRows(
  items: readonly FanOutItem[],
  events: EventsFanOutOptions['events'],
): Promise<Publishable[]> {
  const earlier = items.filter((item) => item.key === undefined).map((item) => item.event);
  let found: Map<string, StoredEventMessage> | Error = new Map();
  if (earlier.length > 0) {
    try {
      const rows = await events.findStored(
        earlier.map((event) => ({ source: event.source, eventId: event.id })),
      );
      found = new Map(
        rows.map((row) => [rowKey(row), { ...messageOf(row), dataJson: row.dataJson }]),
      );
    } catch (err) {
      found = new StoredRowLookupError('could not read the stored rows to publish', {
        cause: err,
      });
    }
  }
  return items.map((item): Publishable => {
    if (item.key !== undefined) {
      return {
        ...messageOf(item.key),
        dataJson: item.dataJson ?? stringifyExactJson(item.event.data),
        requestId: item.requestId,
      };
    }
    if (found instanceof Error) return found;
    const row = found.get(rowKey({ source: item.event.source, eventId: item.event.id }));
    return row === undefined ? 'gone' : { ...row, requestId: item.requestId };
  });
}

function messageOf(key: StoredKey): Omit<StoredEventMessage, 'dataJson' | 'requestId'> {
  return {
    rowId: key.id,
    eventId: key.eventId,
    source: key.source,
    type: key.type,
    timestamp: key.timestamp,
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Counts what was published and what was not, and logs the failures once per batch. */
function report(
  options: EventsFanOutOptions,
  publishResults: ReadonlyArray<Error | undefined>,
  rows: readonly Publishable[],
): void {
  const { metrics, logger } = options;
  const failures: Error[] = rows.filter((row): row is Error => row instanceof Error);
  let published = 0;
  for (const result of publishResults) {
    if (result === undefined) published += 1;
    else failures.push(result);
  }
  metrics.eventsPublished.inc(published);
  for (const failure of failures) metrics.eventsPublishFailures.inc({ reason: reasonOf(failure) });
  if (rows.includes('gone')) {
    logger.warn('an event found stored earlier is gone (retention?); nothing to publish for it');
  }
  if (failures.length > 0) {
    logger.warn(
      { err: failures[0], unpublished: failures.length },
      'events not published to the events exchange; their messages are requeued',
    );
  }
}

function reasonOf(error: Error): string {
  if (error instanceof QueueUnavailableError) return error.reason;
  if (error instanceof StoredRowLookupError) return 'lookup';
  return 'error';
}
