import type { IncomingHttpHeaders } from 'node:http';
import {
  type ErrorResponse,
  parseJsonBody,
  type QueueMessage,
  type RejectionReason,
  storableJsonObject,
  toValidationIssues,
} from '@webhooks/contracts';
import { formPayload, isFormContentType } from './form-body.js';
import { type ProviderConvention, providerEventFields } from './provider-event.js';
import type { SignatureFailure, SignatureVerifier } from './signatures/signature-verifier.js';
import { unsignedVerifier, verifierForSource } from './signatures/verifier-for-source.js';
import { SourceName, type WebhookSource } from './signatures/webhook-sources.js';

/** The sources `POST /webhook/:source` accepts (`WEBHOOK_SOURCES` and its companion). */
export interface ProviderSources {
  /** Configured sources by name, with their signature schemes and secrets. */
  sources: Readonly<Record<string, WebhookSource>>;
  /** Accept sources missing from `sources`, unsigned, with the generic conventions. */
  allowUnknown: boolean;
}

/** One provider request as received. */
export interface ProviderRequest {
  /** The `:source` of the path. */
  source: string;
  /**
   * The body exactly as sent: signatures cover these bytes. JSON, or for a `github` source
   * also GitHub's form encoding (`payload=<URL-encoded JSON>`), as its `content-type` says.
   */
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  /** Time of receipt, ms since the epoch: the signed timestamp's tolerance is measured from it. */
  receivedAtMs: number;
}

export type ProviderVerification =
  | { success: true; event: QueueMessage }
  | {
      success: false;
      status: 400 | 401 | 404 | 415;
      body: ErrorResponse;
      /** Set when the refusal is one the quarantine keeps (401 and 404). */
      rejection?: { reason: RejectionReason; detail?: SignatureFailure; scheme?: string };
    };

export type VerifyProviderRequest = (request: ProviderRequest) => ProviderVerification;

interface SourceHandling {
  scheme: WebhookSource['scheme'] | 'unknown';
  verifier: SignatureVerifier;
  convention: ProviderConvention;
}

const CONVENTIONS: Record<WebhookSource['scheme'], ProviderConvention> = {
  standard: 'standard',
  github: 'github',
  stripe: 'stripe',
  none: 'generic',
};

const UNKNOWN_SOURCE: SourceHandling = {
  scheme: 'unknown',
  verifier: unsignedVerifier,
  convention: 'generic',
};

/**
 * The whole decision of `POST /webhook/:source` short of publishing: which source, whether
 * the signature holds on the raw bytes, whether the body is a storable JSON object, and the
 * event it becomes (the provider's delivery id as its id). A GitHub source also takes GitHub's
 * default content type, `application/x-www-form-urlencoded`: the signature is checked on the
 * form body as sent, then the JSON of its `payload` field is read as a JSON body would be, so
 * the event is the same as that of the same delivery sent as JSON. Pure: the route and
 * `pnpm rejected:replay` both call it, so a kept request verified again becomes exactly the
 * event it would have been on arrival.
 */
export function providerVerifier(options: {
  providerSources: ProviderSources | undefined;
  /** Deepest nesting of the body, stored as `data` (`MAX_JSON_DEPTH`). */
  maxJsonDepth: number;
}): VerifyProviderRequest {
  // A JSON object PostgreSQL can store: no NUL, no unpaired surrogate, not nested too deep.
  const EventData = storableJsonObject({ maxDepth: options.maxJsonDepth });
  const allowUnknown = options.providerSources?.allowUnknown ?? false;
  // A Map, so that a path such as `/webhook/constructor` never finds an Object.prototype member.
  const sources = new Map<string, SourceHandling>(
    Object.entries(options.providerSources?.sources ?? {}).map(([name, source]) => [
      name,
      {
        scheme: source.scheme,
        verifier: verifierForSource(source),
        convention: CONVENTIONS[source.scheme],
      },
    ]),
  );

  return ({ source, rawBody, headers, receivedAtMs }) => {
    let handling = sources.get(source);
    const form = isFormContentType(headers['content-type']);
    // Only GitHub sends form bodies; every other source answers them as it did before: 415,
    // ahead of any other check (and so never kept in the quarantine).
    if (form && handling?.scheme !== 'github') {
      return { success: false, status: 415, body: { error: 'unsupported_media_type' } };
    }
    if (handling === undefined) {
      if (!allowUnknown) {
        return {
          success: false,
          status: 404,
          body: { error: 'unknown_source' },
          rejection: { reason: 'unknown_source' },
        };
      }
      const name = SourceName.safeParse(source);
      if (!name.success) {
        const issues = toValidationIssues(name.error).map((i) => ({ ...i, path: 'param:source' }));
        return { success: false, status: 400, body: { error: 'validation_failed', issues } };
      }
      handling = UNKNOWN_SOURCE;
    }

    const verdict = handling.verifier.verify({ rawBody, headers, nowMs: receivedAtMs });
    if (!verdict.valid) {
      return {
        success: false,
        status: 401,
        body: { error: 'invalid_signature' },
        rejection: { reason: 'invalid_signature', detail: verdict.reason, scheme: handling.scheme },
      };
    }

    let jsonBytes = rawBody;
    if (form) {
      const payload = formPayload(rawBody);
      if (!payload.success) {
        return {
          success: false,
          status: 400,
          body: { error: 'invalid_payload', message: payload.message },
        };
      }
      jsonBytes = payload.bytes;
    }
    const json = parseJsonBody(jsonBytes, form ? { subject: 'the payload field' } : {});
    if (!json.success) {
      return {
        success: false,
        status: 400,
        body: { error: 'invalid_payload', message: json.message },
      };
    }
    const data = EventData.safeParse(json.value);
    if (!data.success) {
      return {
        success: false,
        status: 400,
        body: { error: 'validation_failed', issues: toValidationIssues(data.error) },
      };
    }
    const fields = providerEventFields(handling.convention, { headers, body: data.data });
    if (!fields.success) {
      return {
        success: false,
        status: 400,
        body: { error: 'validation_failed', issues: fields.issues },
      };
    }

    const receivedAt = new Date(receivedAtMs).toISOString();
    return {
      success: true,
      event: {
        id: fields.fields.id,
        source,
        type: fields.fields.type,
        data: data.data,
        timestamp: fields.fields.timestamp ?? receivedAt,
        receivedAt,
      },
    };
  };
}
