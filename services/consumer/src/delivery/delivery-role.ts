import type { ShutdownStep } from '@webhooks/config';
import { type Database, DeliveriesRepository, SubscriptionsRepository } from '@webhooks/db';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AutoPause } from './auto-pause.js';
import { deliveryHeaders } from './delivery-headers.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { DeliveryWorker } from './delivery-worker.js';
import { DestinationPolicy } from './destination-policy.js';
import { DeliverySender } from './send-attempt.js';

/** 24 h, as `DELIVERY_AUTO_PAUSE_AFTER_MS` defaults to. */
const DEFAULT_AUTO_PAUSE_AFTER_MS = 86_400_000;

export interface DeliveryRoleOptions {
  db: Database;
  settings: {
    DELIVERY_ALLOWED_NETWORKS?: readonly string[] | undefined;
    DELIVERY_POLL_MS: number;
    /** A lease lasts the subscription's timeout plus this, ms. Default 30 s. */
    DELIVERY_LEASE_MARGIN_MS?: number | undefined;
    /** Failed attempts in a row before backing off from a destination. Default 10. */
    DELIVERY_BACKOFF_AFTER_FAILURES?: number | undefined;
    /** The longest wait between probes of a destination backed off from, ms. Default 60 s. */
    DELIVERY_BACKOFF_MAX_MS?: number | undefined;
    /** A subscription whose every attempt failed for this long is paused, ms; 0: never. Default 24 h. */
    DELIVERY_AUTO_PAUSE_AFTER_MS?: number | undefined;
  };
  registry: Registry;
  logger: Logger;
}

/**
 * The `deliver` role of a consumer process: sends the deliveries that storing made, signed,
 * to the subscriptions' URLs, within the network policy.
 */
export class DeliveryRole {
  readonly deliveries: DeliveriesRepository;
  readonly metrics: DeliveryMetrics;
  readonly worker: DeliveryWorker;
  readonly autoPause: AutoPause;
  readonly #sender: DeliverySender;
  readonly #logger: Logger;

  constructor(options: DeliveryRoleOptions) {
    const { settings, logger } = options;
    this.#logger = logger;
    this.deliveries = new DeliveriesRepository(options.db);
    this.metrics = new DeliveryMetrics({
      registry: options.registry,
      pendingBySubscription: () => this.deliveries.pendingBySubscription(),
      backingOff: () => this.worker.backingOff,
    });
    this.#sender = new DeliverySender({
      policy: new DestinationPolicy({ allowedNetworks: settings.DELIVERY_ALLOWED_NETWORKS }),
    });
    this.worker = new DeliveryWorker({
      deliveries: this.deliveries,
      send: (delivery, signal) =>
        this.#sender.send({
          url: delivery.url,
          body: delivery.body,
          headers: deliveryHeaders({
            webhookId: delivery.webhookId,
            body: delivery.body,
            secrets: delivery.secrets,
          }),
          timeoutMs: delivery.timeoutMs,
          signal,
        }),
      pollMs: settings.DELIVERY_POLL_MS,
      leaseMarginMs: settings.DELIVERY_LEASE_MARGIN_MS,
      backoff: backoffOf(settings),
      metrics: this.metrics,
      logger,
    });
    this.autoPause = new AutoPause({
      subscriptions: new SubscriptionsRepository(options.db),
      afterMs: settings.DELIVERY_AUTO_PAUSE_AFTER_MS ?? DEFAULT_AUTO_PAUSE_AFTER_MS,
      paused: this.metrics.autoPaused,
      logger,
    });
  }

  start(): void {
    this.worker.start();
    this.autoPause.start();
    void this.warnWithoutVacuum();
  }

  /**
   * Says so, once, when nothing vacuums the deliveries table: sending then slows down as the
   * dead rows of finished deliveries grow. Whether it warned.
   */
  async warnWithoutVacuum(): Promise<boolean> {
    try {
      if (await this.deliveries.vacuumedAutomatically()) return false;
    } catch (err) {
      this.#logger.debug({ err }, 'could not read whether autovacuum runs');
      return false;
    }
    this.#logger.warn(
      'autovacuum is off for the deliveries table: every delivery leaves dead rows that slow ' +
        'the sender down until something vacuums them; turn autovacuum on, or run ' +
        'VACUUM (ANALYZE) deliveries, delivery_attempts, delivery_order_keys regularly',
    );
    return true;
  }

  stopSteps(): ShutdownStep[] {
    return [
      ['stop automatic pauses', () => this.autoPause.stop()],
      ['stop deliveries', () => this.worker.stop()],
      ['close delivery connections', () => this.#sender.close()],
    ];
  }
}

/** The back-off settings given; the worker's defaults for the rest. */
function backoffOf(settings: DeliveryRoleOptions['settings']) {
  const maxMs = settings.DELIVERY_BACKOFF_MAX_MS;
  return {
    ...(settings.DELIVERY_BACKOFF_AFTER_FAILURES === undefined
      ? {}
      : { afterFailures: settings.DELIVERY_BACKOFF_AFTER_FAILURES }),
    ...(maxMs === undefined ? {} : { maxMs, firstMs: Math.min(1000, maxMs) }),
  };
}
