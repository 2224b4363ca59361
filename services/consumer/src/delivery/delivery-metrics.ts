import { counter, gauge, histogram } from '@webhooks/config';
import type { Registry } from 'prom-client';

export interface DeliveryMetricsOptions {
  registry: Registry;
  /** Pending deliveries per subscription name, read at scrape time. */
  pendingBySubscription: () => Promise<ReadonlyMap<string, number>>;
  /** Subscriptions this process is backing off from now (see `DestinationBackoff`). */
  backingOff: () => number;
}

/** What the senders did, on the consumer's registry. */
export class DeliveryMetrics {
  /** `outcome`: `delivered`, `retry_scheduled` (an attempt failed, another follows) or `failed`. */
  readonly deliveries;
  /** Stored → delivered, per subscription. */
  readonly latency;
  readonly attemptDuration;
  /** Subscriptions paused because every attempt failed for `DELIVERY_AUTO_PAUSE_AFTER_MS`. */
  readonly autoPaused;

  constructor(options: DeliveryMetricsOptions) {
    const { registry } = options;
    this.deliveries = counter(registry, {
      name: 'deliveries_total',
      help: 'Delivery attempts by subscription and outcome (delivered, retry_scheduled, failed)',
      labelNames: ['subscription', 'outcome'],
    });
    this.latency = histogram(registry, {
      name: 'delivery_latency_seconds',
      help: 'Time from the event stored to its delivery acknowledged (2xx) by the destination',
      labelNames: ['subscription'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    });
    this.attemptDuration = histogram(registry, {
      name: 'delivery_attempt_duration_seconds',
      help: 'Time of one HTTP attempt, answered or not',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    });
    this.autoPaused = counter(registry, {
      name: 'subscriptions_auto_paused_total',
      help: 'Subscriptions paused automatically because every attempt failed for DELIVERY_AUTO_PAUSE_AFTER_MS',
      labelNames: ['subscription'],
    });
    gauge(registry, {
      name: 'deliveries_pending',
      help: 'Deliveries waiting to be delivered (due, in flight or scheduled), by subscription',
      labelNames: ['subscription'],
      async collect() {
        this.reset();
        const pending = await options.pendingBySubscription().catch(() => undefined);
        for (const [subscription, count] of pending ?? []) this.set({ subscription }, count);
      },
    });
    gauge(registry, {
      name: 'delivery_destinations_backing_off',
      help: 'Subscriptions whose destination failed every recent attempt: this process sends them one probe at a time',
      collect() {
        this.set(options.backingOff());
      },
    });
  }
}
