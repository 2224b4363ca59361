import { counter, gauge, histogram, serviceRegistry } from '@webhooks/config';

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
  readonly registry = serviceRegistry();

  readonly requests = counter(this.registry, {
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
  });

  readonly requestDuration = histogram(this.registry, {
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route pattern and method',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

  readonly accepted = counter(this.registry, {
    name: 'webhooks_accepted_total',
    help: 'Webhooks answered 200: published and confirmed by the broker',
  });

  readonly rejected = counter(this.registry, {
    name: 'webhooks_rejected_total',
    help: 'Webhooks not accepted, by reason (the error code answered)',
    labelNames: ['reason'],
  });

  readonly publishDuration = histogram(this.registry, {
    name: 'publish_confirm_duration_seconds',
    help: 'Time from publish to the broker confirm (or failure), by outcome',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  });

  readonly backlogMessages = gauge(this.registry, {
    name: 'ingest_backlog_messages',
    help: 'Messages ready in the main queue at the last read (admission control, MAX_BACKLOG)',
  });

  readonly backlogShedding = gauge(this.registry, {
    name: 'ingest_backlog_shedding',
    help: '1 while new webhooks are refused with 503 backlog_full, else 0',
  });

  readonly backlogDrainRate = gauge(this.registry, {
    name: 'ingest_backlog_drain_messages_per_second',
    help: 'Measured drain rate of the main queue (moving average), the base of Retry-After',
  });

  readonly admissionStateChanges = counter(this.registry, {
    name: 'ingest_admission_state_changes_total',
    help: 'Changes of the admission state, by the state entered (open, shedding, unknown)',
    labelNames: ['to'],
  });

  readonly quarantined = counter(this.registry, {
    name: 'rejected_requests_quarantined_total',
    help: 'Provider requests refused with 401/404 and sent to the quarantine, by outcome (kept: confirmed by the broker; failed: not; busy: too many pending)',
    labelNames: ['outcome'],
  });

  constructor(options: { brokerConnected: () => boolean }) {
    gauge(this.registry, {
      name: 'broker_connected',
      help: '1 while the ingest API has a confirm channel to the broker, else 0',
      collect() {
        this.set(options.brokerConnected() ? 1 : 0);
      },
    });
  }
}
