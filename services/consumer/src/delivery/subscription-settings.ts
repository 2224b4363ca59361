import { unstorableTextReason } from '@webhooks/contracts';
import { z } from 'zod';
import { SubscriptionSecret } from './subscription-secret.js';

/** 5 s, 30 s, 2 min, 10 min, 1 h, 6 h: then the delivery is `failed` (and replayable). */
export const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000];
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT = 10;

const MAX_URL_CHARS = 2048;
/** Most sources (types) one filter lists. */
const MAX_FILTER_ENTRIES = 100;
const DAY_MS = 86_400_000;

/** Refuses text PostgreSQL cannot store (NUL, unpaired surrogates). */
function refuseUnstorableText(text: string, ctx: z.RefinementCtx): void {
  const reason = unstorableTextReason(text);
  if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
}

/** Surrounding white space is not part of a name, as with an event's `source` and `type`. */
const trimmedName = z.string().trim().min(1).max(255).superRefine(refuseUnstorableText);

export const SubscriptionName = trimmedName.meta({ description: 'Unique among subscriptions' });

/**
 * Where deliveries are POSTed: an absolute http(s) URL. Credentials in it are refused: they
 * would be shown to whoever reads the subscription, and the signature already authenticates.
 */
export const SubscriptionUrl = z
  .string()
  .max(MAX_URL_CHARS)
  .superRefine(refuseUnstorableText)
  .superRefine((text, ctx) => {
    const problem = urlProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'Absolute http or https URL, without credentials', format: 'uri' });

function urlProblem(text: string): string | undefined {
  const url = URL.parse(text);
  if (url === null) return 'must be an absolute http or https URL';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  return undefined;
}

/** A source is matched as it is: a `*` in one would read as a pattern that it is not. */
const sourceName = trimmedName.refine((source) => !source.includes('*'), {
  message: "must not contain '*': sources are matched exactly",
});

/** A type, or a prefix of types ending in `*` (`invoice.*`; `*` alone: every type). */
const typePattern = trimmedName.refine((type) => !type.slice(0, -1).includes('*'), {
  message: "may contain '*' only at its end (a prefix, such as 'invoice.*')",
});

/** Which events are sent: one of `sources` and one of `types`; an absent list matches all. */
export const SubscriptionFilter = z
  .strictObject({
    sources: z.array(sourceName).min(1).max(MAX_FILTER_ENTRIES).optional(),
    types: z.array(typePattern).min(1).max(MAX_FILTER_ENTRIES).optional(),
  })
  .meta({ description: 'Events of one of these sources and types; absent or null: every event' });

const RetryDelaysMs = z
  .array(z.int().min(1).max(DAY_MS))
  .max(20)
  .meta({ description: 'The wait before each retry, in ms; after the last, the delivery fails' });
const TimeoutMs = z
  .int()
  .min(100)
  .max(60_000)
  .meta({ description: 'Longest wait for an answer to one attempt, in ms' });
const MaxInFlight = z
  .int()
  .min(1)
  .max(1000)
  .meta({ description: 'Most deliveries being sent to it at once' });

const RateLimitPerSecond = z.int().min(1).max(10_000).meta({
  description:
    'Most deliveries started per second, across every consumer process (any one-second window); null or absent: no limit',
});
/**
 * An RFC 6901 JSON pointer into the event as it is sent: `/id`, `/source`, `/type`, or `/data`
 * and below (`~1` is a `/` in a member name, `~0` a `~`).
 */
const ORDERING_POINTER = /^(?:\/(?:id|source|type)|\/data(?:\/(?:[^~/]|~[01])*)*)$/;

/**
 * Events with the same value at `key` are sent one at a time, in the order they were stored;
 * events without it are sent unordered.
 */
export const SubscriptionOrdering = z
  .strictObject({
    key: z
      .string()
      .max(1024)
      .superRefine(refuseUnstorableText)
      .refine((key) => ORDERING_POINTER.test(key), {
        message:
          "must be a JSON pointer to '/id', '/source', '/type' or into '/data' (such as '/data/customer/id'), '~' escaped as '~0' and '/' in a name as '~1'",
      })
      .meta({ description: 'JSON pointer into the event as sent, such as /data/customer/id' }),
  })
  .meta({
    description:
      'Events of one key are sent one at a time, in the order stored; null: no order (the default)',
  });

/** `POST /subscriptions`: absent settings take their defaults, an absent secret is generated. */
export const CreateSubscription = z.strictObject({
  name: SubscriptionName,
  url: SubscriptionUrl,
  filter: SubscriptionFilter.nullable().default(null),
  secret: SubscriptionSecret.optional().meta({ description: 'Generated when absent' }),
  retryDelaysMs: RetryDelaysMs.default(DEFAULT_RETRY_DELAYS_MS),
  timeoutMs: TimeoutMs.default(DEFAULT_TIMEOUT_MS),
  maxInFlight: MaxInFlight.default(DEFAULT_MAX_IN_FLIGHT),
  rateLimitPerSecond: RateLimitPerSecond.nullable().default(null),
  ordering: SubscriptionOrdering.nullable().default(null),
});
export type CreateSubscription = z.infer<typeof CreateSubscription>;

/**
 * `PATCH /subscriptions/:id`: the settings to change, at least one. A `filter` replaces the
 * whole filter; a new `secret` rotates the current one out. A new `ordering` (or null) applies
 * to the deliveries made from then on; those made before keep their place in their key.
 */
export const UpdateSubscription = z
  .strictObject({
    name: SubscriptionName.optional(),
    url: SubscriptionUrl.optional(),
    filter: SubscriptionFilter.nullable().optional(),
    secret: SubscriptionSecret.optional(),
    retryDelaysMs: RetryDelaysMs.optional(),
    timeoutMs: TimeoutMs.optional(),
    maxInFlight: MaxInFlight.optional(),
    rateLimitPerSecond: RateLimitPerSecond.nullable().optional(),
    ordering: SubscriptionOrdering.nullable().optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, {
    message: 'give at least one setting to change',
  });
export type UpdateSubscription = z.infer<typeof UpdateSubscription>;
