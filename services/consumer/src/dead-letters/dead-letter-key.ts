import { createHash } from 'node:crypto';

/** What a dead-lettered body says about its event, when it is an event at all. */
export interface DeadLetterIdentity {
  /** `dead_letters.message_key`: the same for every copy of one message. */
  messageKey: string;
  eventId: string | undefined;
  source: string | undefined;
  type: string | undefined;
}

const MAX_NAME_CHARS = 255;

/**
 * Identifies a message in the dead-letter queue the same way when the consumer records it and
 * when a replay looks for it: by (source, event id) when the body names them, as the events
 * table deduplicates; else by its AMQP message id, so that equal bodies sent as different
 * messages stay apart (each has its own record, found and replayed by its own id); else, with
 * neither, by a digest of the bytes. The body's `id` is the event id; the AMQP message id
 * stands in for it when the body has none.
 *
 * Several queue messages can share a key (copies of one event, equal bodies without any id);
 * a replay of the record moves all of them.
 */
export function identifyDeadLetter(
  body: Buffer,
  messageId: string | undefined,
): DeadLetterIdentity {
  const fields = eventFields(body);
  const eventId = fields.id ?? nameOrUndefined(messageId);
  const { source, type } = fields;
  let messageKey: string;
  if (source !== undefined && eventId !== undefined) {
    messageKey = `event:${sha256(JSON.stringify([source, eventId]))}`;
  } else if (messageId !== undefined && messageId.length > 0) {
    messageKey = `message:${sha256(messageId)}`;
  } else {
    messageKey = digestKey(body);
  }
  return { messageKey, eventId, source, type };
}

/**
 * The key of a body that names neither an event nor a message id. Records written before
 * non-events were keyed by their message id have it too, so a replay also selects a message
 * whose digest key was selected.
 */
export function digestKey(body: Buffer): string {
  return `body:${sha256(body)}`;
}

function eventFields(body: Buffer): { id?: string; source?: string; type?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const record = parsed as Record<string, unknown>;
  const fields: { id?: string; source?: string; type?: string } = {};
  for (const name of ['id', 'source', 'type'] as const) {
    const value = nameOrUndefined(record[name]);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

/** Only what fits the table's columns counts as a name. */
function nameOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_CHARS
    ? value
    : undefined;
}

function sha256(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}
