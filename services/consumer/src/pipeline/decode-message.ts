import {
  MessageHeader,
  parseExactJson,
  type QueueMessage,
  QueueMessageInput,
} from '@webhooks/contracts';
import type { Delivery } from '@webhooks/queue';

/** What the consumer reads of a delivery: no way to settle it from here. */
export type IncomingMessage = Pick<Delivery, 'body' | 'headers' | 'properties'>;

/** The message can never be stored as it is: not JSON, or not the queue contract. */
export class InvalidMessageError extends Error {
  readonly code = 'INVALID_MESSAGE';
  override name = 'InvalidMessageError';
}

/** What the retry path and the logs need of every message, valid or not. */
export interface MessageContext {
  /** 1 for the first try; the retry path increments it. */
  attempt: number;
  requestId: string | undefined;
}

export type Decoded = { ok: true; event: QueueMessage } | { ok: false; error: InvalidMessageError };

/** Reads the attempt and request id from the headers; never throws. */
export function messageContext(message: IncomingMessage): MessageContext {
  return {
    attempt: attemptOf(message.headers[MessageHeader.attempt]),
    requestId: stringOf(message.headers[MessageHeader.requestId]),
  };
}

export interface DecodeOptions {
  /** The time of consumption, for a message with neither `receivedAt` nor an AMQP timestamp. */
  nowMs?: number;
}

/**
 * Parses a message body at the edge, with the contract's schema; inside, data is trusted.
 * Numbers keep every digit of the message's text. A message with only the event's own fields
 * (as another producer would publish it) is completed: see `QueueMessageInput`.
 */
export function decodeMessage(message: IncomingMessage, options: DecodeOptions = {}): Decoded {
  let json: unknown;
  try {
    json = parseExactJson(message.body.toString('utf8'));
  } catch (err) {
    return { ok: false, error: new InvalidMessageError('body is not JSON', { cause: err }) };
  }
  const parsed = QueueMessageInput.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(body)'}: ${i.message}`,
    );
    return {
      ok: false,
      error: new InvalidMessageError(`message violates the contract: ${problems.join('; ')}`),
    };
  }
  const receivedAt =
    parsed.data.receivedAt ??
    new Date(
      amqpTimestampMs(message.properties.timestamp) ?? options.nowMs ?? Date.now(),
    ).toISOString();
  const event: QueueMessage = {
    ...parsed.data,
    timestamp: parsed.data.timestamp ?? receivedAt,
    receivedAt,
  };
  return { ok: true, event };
}

/**
 * The AMQP `timestamp` property in ms. It is whole seconds since the epoch (amqplib gives a
 * number); one PostgreSQL could not store is ignored.
 */
function amqpTimestampMs(seconds: unknown): number | undefined {
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0) {
    return undefined;
  }
  const ms = seconds * 1000;
  const year = new Date(ms).getUTCFullYear();
  return year <= 9999 ? ms : undefined;
}

function attemptOf(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}
