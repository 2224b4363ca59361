import { MessageHeader, QueueMessage } from '@webhooks/contracts';
import type { Delivery } from '@webhooks/queue';

/** The message can never be stored as it is: not JSON, or not the queue contract. */
export class InvalidMessageError extends Error {
  readonly code = 'INVALID_MESSAGE';
  override name = 'InvalidMessageError';
}

export interface MessageContext {
  /** 1 for the first try; the retry path increments it. */
  attempt: number;
  requestId: string | undefined;
}

export type Decoded =
  | ({ ok: true; event: QueueMessage } & MessageContext)
  | ({ ok: false; error: InvalidMessageError } & MessageContext);

/** Parses a delivery at the edge, with the contract's schema; inside, data is trusted. */
export function decodeMessage(delivery: Delivery): Decoded {
  const context: MessageContext = {
    attempt: attemptOf(delivery.headers[MessageHeader.attempt]),
    requestId: stringOf(delivery.headers[MessageHeader.requestId]),
  };
  let json: unknown;
  try {
    json = JSON.parse(delivery.body.toString('utf8'));
  } catch (err) {
    return {
      ok: false,
      error: new InvalidMessageError('body is not JSON', { cause: err }),
      ...context,
    };
  }
  const parsed = QueueMessage.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(body)'}: ${i.message}`,
    );
    return {
      ok: false,
      error: new InvalidMessageError(`message violates the contract: ${problems.join('; ')}`),
      ...context,
    };
  }
  return { ok: true, event: parsed.data, ...context };
}

function attemptOf(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}
