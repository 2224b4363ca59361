import { counter, gauge, histogram, serviceRegistry } from '@webhooks/config';
import type { DeathReason } from '@webhooks/contracts';
import type { InsertBatch } from './database-circuit.js';

export interface ConsumerMetricsOptions {
  /** Ready-message counts of the topology's queues, read at scrape time; empty when unknown. */
  queueDepths: () => Promise<ReadonlyMap<string, number>>;
}

/** The consumer's Prometheus metrics, on a registry of its own (default process metrics too). */
export class ConsumerMetrics {
  readonly registry = serviceRegistry();

  readonly consumed = counter(this.registry, {
    name: 'messages_consumed_total',
    help: 'Messages delivered to the consumer (redeliveries included)',
  });

  readonly acked = counter(this.registry, {
    name: 'messages_acked_total',
    help: 'Messages acknowledged after their event was stored (or found already stored)',
  });

  readonly retried = counter(this.registry, {
    name: 'messages_retried_total',
    help: 'Messages moved to a retry queue after a transient failure',
  });

  readonly deadLettered = counter(this.registry, {
    name: 'messages_dead_lettered_total',
    help: 'Messages moved to the dead-letter queue, by x-death-reason',
    labelNames: ['reason'],
  });

  readonly deadLettersUnrecorded = counter(this.registry, {
    name: 'dead_letters_unrecorded_total',
    help: 'Dead letters confirmed in the dead-letter queue but not recorded in the database',
  });

  readonly batchSize = histogram(this.registry, {
    name: 'insert_batch_size',
    help: 'Rows per INSERT statement',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
  });

  readonly insertDuration = histogram(this.registry, {
    name: 'insert_duration_seconds',
    help: 'Time of one INSERT statement, by outcome',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });

  readonly lag = histogram(this.registry, {
    name: 'event_lag_seconds',
    help: 'Time from receipt by the ingest API to stored in PostgreSQL',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });

  readonly unackedBytes = gauge(this.registry, {
    name: 'unacked_bytes',
    help: 'Body bytes of messages taken from the queue and not yet acked (bounded by PREFETCH_MAX_BYTES)',
  });

  readonly returnedUnread = counter(this.registry, {
    name: 'messages_returned_unread_total',
    help: 'Messages handed back to the queue unprocessed because PREFETCH_MAX_BYTES was reached (delivered again later)',
  });

  readonly eventsPublished = counter(this.registry, {
    name: 'events_published_total',
    help: 'Stored events published to the events exchange and confirmed by the broker (an event redelivered counts again)',
  });

  readonly eventsPublishFailures = counter(this.registry, {
    name: 'events_publish_failures_total',
    help: 'Stored events not published to the events exchange, by reason; their messages are requeued and publish them when redelivered',
    labelNames: ['reason'],
  });

  readonly circuitOpen = gauge(this.registry, {
    name: 'circuit_open',
    help: '1 while the database is unavailable and consumption is paused, else 0',
  });

  constructor(options: ConsumerMetricsOptions) {
    gauge(this.registry, {
      name: 'queue_depth',
      help: 'Messages ready in each queue of the topology, read at scrape time',
      labelNames: ['queue'],
      async collect() {
        this.reset();
        for (const [queue, depth] of await options.queueDepths()) this.set({ queue }, depth);
      },
    });
  }

  /** `insert`, recording the size and duration of every statement. */
  measureInserts<R>(insert: InsertBatch<R>): InsertBatch<R> {
    return async (rows) => {
      this.batchSize.observe(rows.length);
      const stopTimer = this.insertDuration.startTimer();
      try {
        const result = await insert(rows);
        stopTimer({ outcome: 'ok' });
        return result;
      } catch (err) {
        stopTimer({ outcome: 'error' });
        throw err;
      }
    };
  }

  countDeadLetter(reason: DeathReason): void {
    this.deadLettered.inc({ reason });
  }
}
