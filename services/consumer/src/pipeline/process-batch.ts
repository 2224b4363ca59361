import type { QueueMessage } from '@webhooks/contracts';
import { DatabaseUnavailableError, type EventRow } from '@webhooks/db';
import {
  BatchProcessingError,
  type Decision,
  decide,
  type Outcome,
  type StoreOutcome,
} from './decide.js';
import {
  type Decoded,
  decodeMessage,
  type IncomingMessage,
  type MessageContext,
  messageContext,
} from './decode-message.js';
import { type FanOut, FanOutError, type FanOutItem, type FanOutOutcome } from './events-fan-out.js';

export interface ProcessBatchDeps {
  /** Stores rows and returns one outcome per row, in order (`storeBatch` through the circuit). */
  store: (rows: readonly EventRow[]) => Promise<StoreOutcome[]>;
  /** Publishes the stored events to the events exchange. Default: none is published. */
  fanOut?: FanOut | undefined;
  retryDelaysMs: readonly number[];
}

/** The decision for one message, with what the Settler needs to carry it out and report it. */
export interface Verdict<M extends IncomingMessage> {
  message: M;
  decision: Decision;
  context: MessageContext;
  /** The event, when the message held a valid one. */
  event: QueueMessage | undefined;
}

/**
 * The consumer's work on one batch, without a broker: decode every message, store the valid
 * ones with one statement, publish the stored ones to the events exchange (after the commit,
 * before any ack), and decide each message's fate from its outcome. Returns one
 * verdict per message, in order, and never throws: an unexpected error sends the whole batch
 * down the retry path with the error as its reason.
 */
export async function processBatch<M extends IncomingMessage>(
  messages: readonly M[],
  deps: ProcessBatchDeps,
): Promise<Verdict<M>[]> {
  try {
    return await decodeStoreDecide(messages, deps);
  } catch (err) {
    // The only database failure that reaches here is a shutdown with the database away.
    const outcome: Outcome =
      err instanceof DatabaseUnavailableError
        ? { kind: 'not-stored-at-shutdown' }
        : { kind: 'failed', error: new BatchProcessingError(err) };
    return messages.map((message) => {
      const context = messageContext(message);
      const decision = decide(outcome, context.attempt, deps.retryDelaysMs);
      return { message, decision, context, event: undefined };
    });
  }
}

async function decodeStoreDecide<M extends IncomingMessage>(
  messages: readonly M[],
  deps: ProcessBatchDeps,
): Promise<Verdict<M>[]> {
  const decoded = messages.map((message) => ({
    message,
    context: messageContext(message),
    ...decodeMessage(message),
  }));

  const events = decoded.flatMap((d) => (d.ok ? [d.event] : []));
  const stored = await deps.store(events.map(toRow));
  if (stored.length !== events.length) {
    throw new Error(`store returned ${stored.length} outcomes for ${events.length} events`);
  }

  let next = 0;
  const outcomes = decoded.map(
    (d): Outcome => (d.ok ? outcomeAt(stored, next++) : { kind: 'invalid', error: d.error }),
  );
  if (deps.fanOut !== undefined) await fanOutStored(decoded, outcomes, deps.fanOut);
  return decoded.map((d, i) => ({
    message: d.message,
    decision: decide(outcomeAt(outcomes, i), d.context.attempt, deps.retryDelaysMs),
    context: d.context,
    event: d.ok ? d.event : undefined,
  }));
}

/**
 * Publishes the events stored, and turns the outcome of each one not published into
 * `not-published`. A fan-out that throws (a bug) leaves them all unpublished: never a retry
 * or a dead letter of an event that is stored.
 */
async function fanOutStored(
  decoded: ReadonlyArray<{ context: MessageContext } & Decoded>,
  outcomes: Outcome[],
  fanOut: FanOut,
): Promise<void> {
  const items: Array<FanOutItem & { index: number }> = [];
  decoded.forEach((d, index) => {
    const outcome = outcomes[index];
    if (!d.ok || outcome?.kind !== 'stored') return;
    items.push({ event: d.event, key: outcome.key, requestId: d.context.requestId, index });
  });
  if (items.length === 0) return;
  const results = await fanOut(items).catch((err: unknown) => {
    const error = new FanOutError(err);
    return items.map((): FanOutOutcome => ({ published: false, error }));
  });
  items.forEach((item, n) => {
    const result = results[n] ?? { published: false, error: new FanOutError('no outcome') };
    if (!result.published) outcomes[item.index] = { kind: 'not-published', error: result.error };
  });
}

function outcomeAt<T>(outcomes: readonly T[], index: number): T {
  const outcome = outcomes[index];
  if (outcome === undefined) throw new Error(`no outcome for event ${index}`);
  return outcome;
}

function toRow(event: QueueMessage): EventRow {
  return {
    eventId: event.id,
    source: event.source,
    type: event.type,
    data: event.data,
    timestamp: event.timestamp,
  };
}
