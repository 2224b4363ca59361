import { z } from 'zod';
import { MessageHeader } from './queue-message.js';
import { Rfc3339 } from './webhook-body.js';

/** Why a provider request was refused and kept: the `error` code it was answered with. */
export const RejectionReason = z.enum(['invalid_signature', 'unknown_source']);
export type RejectionReason = z.infer<typeof RejectionReason>;

/**
 * AMQP headers of a message on the rejected queue. The message's content is the request body,
 * byte for byte; its `message-id` is the kept request's id (a uuid).
 */
export const RejectedRequestHeader = {
  source: 'x-rejected-source',
  reason: 'x-rejected-reason',
  /** The verifier's finer reason (`signature_mismatch`…), for the operator only. */
  detail: 'x-rejected-detail',
  receivedAt: 'x-received-at',
  /** The request id travels under the same header as on event messages. */
  requestId: MessageHeader.requestId,
  /** The request's headers, credentials removed, as a JSON object. */
  httpHeaders: 'x-http-headers',
} as const;

/** HTTP header values as Node gives them: repeated headers (only `set-cookie`) as arrays. */
export const HttpHeaders = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
export type HttpHeaders = z.infer<typeof HttpHeaders>;

/** What a kept request carries besides its body. */
export const RejectedRequestMeta = z.object({
  id: z.uuid(),
  source: z.string().min(1).max(255),
  reason: RejectionReason,
  detail: z.string().max(255).optional(),
  receivedAt: Rfc3339,
  requestId: z.string().max(128).optional(),
  headers: HttpHeaders,
});
export type RejectedRequestMeta = z.infer<typeof RejectedRequestMeta>;

/**
 * Headers that authenticate a client or a session rather than this one request. A provider's
 * signature headers (`x-hub-signature-256`, `stripe-signature`, `webhook-signature`) are kept:
 * they are an HMAC of this body only, useless for anything else, and needed to verify it again.
 */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);
const CREDENTIAL_NAME =
  /(?:^|[-_])(?:token|secret|password|passwd|api-?key|session|credentials?)(?:$|[-_])/;

/** `headers` without credentials (see `CREDENTIAL_HEADERS`), names in lower case. */
export function withoutCredentials(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): HttpHeaders {
  const kept: Array<[string, string | string[]]> = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME.test(lower)) {
      continue;
    }
    kept.push([lower, value]);
  }
  // fromEntries defines own properties: a header named `__proto__` stays a plain key.
  return Object.fromEntries(kept);
}
