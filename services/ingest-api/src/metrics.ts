import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Why a webhook was not accepted: the `error` code of the response, as a metric label. */
export type RejectionReason =
  | 'invalid_payload'
  | 'validation_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'queue_unavailable'
  | 'backlog_full'
  | (string & {});

/** The ingest API's Prometheus metrics, on a registry of its own (default process metrics too). */
export class IngestMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly accepted = new Counter({
    name: 'webhooks_accepted_total',
    help: 'Webhooks answered 200: published and confirmed by the broker',
    registers: [this.registry],
  });

  readonly rejected = new Counter({
    name: 'webhooks_rejected_total',
    help: 'Webhooks not accepted, by reason (the error code answered)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly publishDuration = new Histogram({
    name: 'publish_confirm_duration_seconds',
    help: 'Time from publish to the broker confirm (or failure), by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly backlogMessages = new Gauge({
    name: 'ingest_backlog_messages',
    help: 'Messages ready in the main queue at the last read (admission control, MAX_BACKLOG)',
    registers: [this.registry],
  });

  readonly backlogShedding = new Gauge({
    name: 'ingest_backlog_shedding',
    help: '1 while new webhooks are refused with 503 backlog_full, else 0',
    registers: [this.registry],
  });

  readonly backlogDrainRate = new Gauge({
    name: 'ingest_backlog_drain_messages_per_second',
    help: 'Measured drain rate of the main queue (moving average), the base of Retry-After',
    registers: [this.registry],
  });

  readonly admissionStateChanges = new Counter({
    name: 'ingest_admission_state_changes_total',
    help: 'Changes of the admission state, by the state entered (open, shedding, unknown)',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });

  readonly quarantined = new Counter({
    name: 'rejected_requests_quarantined_total',
    help: 'Provider requests refused with 401/404 and sent to the quarantine, by outcome (kept: confirmed by the broker; failed: not; busy: too many pending)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: { brokerConnected: () => boolean }) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'broker_connected',
      help: '1 while the ingest API has a confirm channel to the broker, else 0',
      registers: [this.registry],
      collect() {
        this.set(options.brokerConnected() ? 1 : 0);
      },
    });
  }
}
