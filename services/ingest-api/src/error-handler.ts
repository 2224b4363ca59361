import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * A request body that is not JSON the API can read (`parseJsonBody` refused it): answered
 * 400 `invalid_payload`.
 */
export class InvalidPayloadError extends Error {
  readonly code = 'INVALID_PAYLOAD';
  readonly statusCode = 400;
  override name = 'InvalidPayloadError';
}

/** Fastify's body-parsing errors, mapped to the API's error bodies. */
const CLIENT_ERRORS: Record<string, { status: number; error: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported_media_type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_payload' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'invalid_payload' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'invalid_payload' },
  // Our JSON parser's refusals (`parseJsonBody`): empty, not UTF-8, not JSON, prototype keys.
  INVALID_PAYLOAD: { status: 400, error: 'invalid_payload' },
  // Raised before routing (see `frameworkErrors` in app.ts): bad percent-encoding, and a path
  // parameter such as /webhook/<source> longer than Fastify's 100 characters.
  FST_ERR_BAD_URL: { status: 400, error: 'invalid_url' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, error: 'uri_too_long' },
};

/**
 * The one error handler. Client mistakes get a 4xx naming the problem; anything else is a 500
 * whose details stay in the log, never in the response.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const known = error.code === undefined ? undefined : CLIENT_ERRORS[error.code];
  if (known !== undefined) {
    if (known.status === 400) {
      return reply.code(400).send({ error: known.error, message: clientMessage(error) });
    }
    return reply.code(known.status).send({ error: known.error });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // JSON.parse failures and prototype-poisoning refusals arrive as plain 400 errors.
    return reply.code(400).send({ error: 'invalid_payload', message: clientMessage(error) });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send({ error: 'internal_error' });
}

function clientMessage(error: FastifyError): string {
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'body is empty';
  if (error instanceof SyntaxError) return `body is not valid JSON: ${error.message}`;
  return error.message;
}
