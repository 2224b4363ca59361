import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  EventId,
  isExactNumber,
  type JsonObject,
  Rfc3339,
  storableInstant,
  type ValidationIssue,
  WebhookBody,
} from '@webhooks/contracts';

/** Whose conventions say where a provider's request carries its event id and type. */
export type ProviderConvention = 'standard' | 'github' | 'stripe' | 'generic';

/** The parts of a stored event that come from the provider's conventions. */
export interface ProviderEventFields {
  /** The provider's delivery id: with the source, the dedup key. */
  id: string;
  type: string;
  /** When the event happened, if the provider says; otherwise the time of receipt is used. */
  timestamp: string | undefined;
}

export type ProviderEventResult =
  | { success: true; fields: ProviderEventFields }
  | { success: false; issues: ValidationIssue[] };

/** A provider request with its body parsed. */
export interface ParsedProviderRequest {
  headers: IncomingHttpHeaders;
  /** The parsed body, stored whole as the event's `data`. */
  body: JsonObject;
}

/**
 * Reads the event id, type and time the way the provider puts them:
 * - `standard`: id from `webhook-id`, type and RFC 3339 `timestamp` from the body;
 * - `github`: type from `X-GitHub-Event`, id from `X-GitHub-Delivery`;
 * - `stripe`: `id` and `type` from the body, the time from its `created` (Unix seconds);
 * - `generic`: `type` from the body; id from the body's `id`, else the `Idempotency-Key` or
 *   `webhook-id` header, else a new UUID; the time from the body's RFC 3339 `timestamp`.
 * Every missing or unusable field is reported, with the header or body path it was read from.
 */
export function providerEventFields(
  convention: ProviderConvention,
  request: ParsedProviderRequest,
): ProviderEventResult {
  const fields = new FieldReader(request);
  const { id, type, timestamp } = CONVENTIONS[convention](fields, request);
  if (id === undefined || type === undefined || fields.issues.length > 0) {
    return { success: false, issues: fields.issues };
  }
  return { success: true, fields: { id, type, timestamp } };
}

/** The fields as read: undefined where missing or unusable (the reader says which). */
type FieldsRead = { [K in keyof ProviderEventFields]: ProviderEventFields[K] | undefined };

/** Where each convention puts the event's id, type and time. */
const CONVENTIONS: Record<
  ProviderConvention,
  (fields: FieldReader, request: ParsedProviderRequest) => FieldsRead
> = {
  standard: (fields, { body }) => ({
    id: fields.header('webhook-id', EventId),
    type: fields.body('type', EVENT_TYPE),
    timestamp: rfc3339(body.timestamp),
  }),
  github: (fields) => ({
    id: fields.header('x-github-delivery', EventId),
    type: fields.header('x-github-event', EVENT_TYPE),
    timestamp: undefined,
  }),
  stripe: (fields, { body }) => ({
    id: fields.body('id', EventId),
    type: fields.body('type', EVENT_TYPE),
    timestamp: fromUnixSeconds(body.created),
  }),
  generic: (fields, request) => ({
    id: genericId(fields, request),
    type: fields.body('type', EVENT_TYPE),
    timestamp: rfc3339(request.body.timestamp),
  }),
};

const EVENT_TYPE = WebhookBody.shape.type;
/** The contract's string schemas (`EventId`, an event type). */
type StringSchema = typeof EventId;

/** Headers that carry a generic sender's event id, in order of preference (as `POST /webhook`). */
const GENERIC_ID_HEADERS = ['idempotency-key', 'webhook-id'] as const;

function genericId(fields: FieldReader, request: ParsedProviderRequest): string | undefined {
  const bodyId = request.body.id;
  // Numeric ids are common; as text they are the same key on every delivery.
  if (typeof bodyId === 'number' && Number.isSafeInteger(bodyId)) return String(bodyId);
  // A 64-bit id past 2^53, with every digit (see `parseExactJson`).
  if (isExactNumber(bodyId) && /^\d{1,255}$/.test(bodyId.value)) return bodyId.value;
  if (bodyId !== undefined) return fields.body('id', EventId);
  for (const header of GENERIC_ID_HEADERS) {
    if (request.headers[header] !== undefined) return fields.header(header, EventId);
  }
  return randomUUID();
}

/** Collects an issue for every field that is missing or does not fit its schema. */
class FieldReader {
  readonly issues: ValidationIssue[] = [];
  readonly #request: ParsedProviderRequest;

  constructor(request: ParsedProviderRequest) {
    this.#request = request;
  }

  header(name: string, schema: StringSchema): string | undefined {
    return this.#read(`header:${name}`, this.#request.headers[name], schema);
  }

  body(name: string, schema: StringSchema): string | undefined {
    return this.#read(name, this.#request.body[name], schema);
  }

  #read(path: string, value: unknown, schema: StringSchema): string | undefined {
    if (value === undefined) {
      this.issues.push({ path, message: 'required' });
      return undefined;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.issues.push({ path, message: parsed.error.issues[0]?.message ?? 'invalid' });
    return undefined;
  }
}

function rfc3339(value: unknown): string | undefined {
  const parsed = Rfc3339.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function fromUnixSeconds(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return undefined;
  const date = new Date(value * 1000);
  if (Number.isNaN(date.getTime())) return undefined;
  // Past year 9999 the ISO form is `+010000-…`, which neither the contract nor PostgreSQL take.
  const iso = date.toISOString();
  return storableInstant(iso) ? iso : undefined;
}
