export { AcceptedResponse, ErrorResponse } from './http-responses.js';
export { MessageHeader, QueueMessage } from './queue-message.js';
export { toValidationIssues, type ValidationIssue } from './validation-issues.js';
export { EventId, JsonObject, Rfc3339, WebhookBody } from './webhook-body.js';
