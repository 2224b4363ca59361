export { MessageHeader, QueueMessage } from './queue-message.js';
export { type ValidationIssue, toValidationIssues } from './validation-issues.js';
export { EventId, JsonObject, Rfc3339, WebhookBody } from './webhook-body.js';
