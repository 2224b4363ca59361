export { DeathReason } from './death-reason.js';
export {
  ExactNumber,
  isExactNumber,
  type ParseExactJsonOptions,
  parseExactJson,
  stringifyExactJson,
} from './exact-json.js';
export { AcceptedResponse, BacklogFullResponse, ErrorResponse } from './http-responses.js';
export { type ParsedJsonBody, parseJsonBody } from './json-body.js';
export { errorResponse, jsonContent, probePaths } from './openapi-parts.js';
export { MessageHeader, QueueMessage, QueueMessageInput } from './queue-message.js';
export {
  HttpHeaders,
  RejectedRequestHeader,
  RejectedRequestMeta,
  RejectionReason,
  withoutCredentials,
} from './rejected-request.js';
export {
  DEFAULT_MAX_JSON_DEPTH,
  JSON_DEPTH_CEILING,
  type JsonIssue,
  unstorableJsonIssues,
  unstorableNumberReason,
  unstorableTextReason,
} from './storable-json.js';
export { toValidationIssues, type ValidationIssue } from './validation-issues.js';
export {
  EventId,
  JsonObject,
  Rfc3339,
  StorableJsonObject,
  storableInstant,
  storableJsonObject,
  WebhookBody,
  webhookBodySchema,
} from './webhook-body.js';
