import { z } from 'zod';
import {
  DEFAULT_MAX_JSON_DEPTH,
  JSON_DEPTH_CEILING,
  unstorableJsonIssues,
  unstorableTextReason,
} from './storable-json.js';

/** Refuses text PostgreSQL cannot store (NUL, unpaired surrogates); see `storable-json.ts`. */
function refuseUnstorableText(text: string, ctx: z.RefinementCtx): void {
  const reason = unstorableTextReason(text);
  if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
}

/** A name such as `source` or `type`: surrounding white space is not part of it. */
const trimmedName = z.string().trim().min(1).max(255).superRefine(refuseUnstorableText);

/** The provider's event id: kept exactly as sent, because it is half of the dedup key. */
export const EventId = z.string().min(1).max(255).superRefine(refuseUnstorableText);
export type EventId = z.infer<typeof EventId>;

/** RFC 3339: a date, a time and a zone (`Z` or an offset). */
export const Rfc3339 = z.iso.datetime({ offset: true }).refine(storableInstant, {
  message: 'must be a time PostgreSQL can store: a year from 0001 to 9999, an offset within ±15:59',
});

const UTC_OFFSET = /([+-])(\d{2}):?(\d{2})$/;

/**
 * RFC 3339 allows offsets and years PostgreSQL's `timestamptz` refuses (22008, 22009); an
 * event accepted with one would be dead-lettered later, so it is refused up front.
 */
export function storableInstant(value: string): boolean {
  const offsetHours = UTC_OFFSET.exec(value)?.[2];
  if (offsetHours !== undefined && Number(offsetHours) > 15) return false;
  const year = new Date(value).getUTCFullYear();
  return year >= 1 && year <= 9999;
}

/** A JSON object (never an array or a scalar). */
export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

/**
 * A JSON object PostgreSQL can store as it is, nested at most `maxDepth` levels (the object
 * itself is level 1). Checked on the value as received, before it is copied: copying would
 * already drop a `__proto__` key.
 */
export function storableJsonObject(options: { maxDepth: number }) {
  return z.preprocess((value, ctx) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const issue of unstorableJsonIssues(value, options)) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: value });
      }
    }
    return value;
  }, JsonObject);
}

/**
 * The body of `POST /webhook`: the Go original's shape. Unknown top-level keys are refused
 * rather than silently dropped, so a client never believes a field was stored when it was not.
 * `maxJsonDepth` bounds the nesting of `data` (`MAX_JSON_DEPTH`).
 */
export function webhookBodySchema(options: { maxJsonDepth: number }) {
  return z.strictObject({
    source: trimmedName,
    type: trimmedName,
    data: storableJsonObject({ maxDepth: options.maxJsonDepth }).default({}),
    id: EventId.optional(),
    timestamp: Rfc3339.optional(),
  });
}

/** The body of `POST /webhook` with the default nesting limit. */
export const WebhookBody = webhookBodySchema({ maxJsonDepth: DEFAULT_MAX_JSON_DEPTH });
export type WebhookBody = z.infer<typeof WebhookBody>;

/** Any `data` the ingest API can accept, whatever its `MAX_JSON_DEPTH`: what the consumer takes. */
export const StorableJsonObject = storableJsonObject({ maxDepth: JSON_DEPTH_CEILING });
