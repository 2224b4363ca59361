import { z } from 'zod';

/** A name such as `source` or `type`: surrounding white space is not part of it. */
const trimmedName = z.string().trim().min(1).max(255);

/** The provider's event id: kept exactly as sent, because it is half of the dedup key. */
export const EventId = z.string().min(1).max(255);
export type EventId = z.infer<typeof EventId>;

/** RFC 3339: a date, a time and a zone (`Z` or an offset). */
export const Rfc3339 = z.iso.datetime({ offset: true });

/** A JSON object (never an array or a scalar). */
export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

/**
 * The body of `POST /webhook`: the Go original's shape. Unknown top-level keys are refused
 * rather than silently dropped, so a client never believes a field was stored when it was not.
 */
export const WebhookBody = z.strictObject({
  source: trimmedName,
  type: trimmedName,
  data: JsonObject.default({}),
  id: EventId.optional(),
  timestamp: Rfc3339.optional(),
});
export type WebhookBody = z.infer<typeof WebhookBody>;
