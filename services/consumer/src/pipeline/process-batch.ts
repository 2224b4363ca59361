import { type QueueMessage, stringifyExactJson } from '@webhooks/contracts';
import { DatabaseUnavailableError, type EventRow, type StoredKey } from '@webhooks/db';
import {
  BatchProcessingError,
  type Decision,
  decide,
  type Outcome,
  type StoreOutcome,
} from './decide.js';
import {
  decodeMessage,
  type IncomingMessage,
  type MessageContext,
  messageContext,
} from './decode-message.js';
import { type FanOut, FanOutError, type FanOutItem, type FanOutOutcome } from './events-fan-out.js';

export interface ProcessBatchDeps {
  /** Stores rows and returns one outcome per row, in order (`storeBatch` through the circuit). */
  store: (rows: readonly EventRow[]) => Promise<StoreOutcome[]>;
  retryDelaysMs: readonly number[];
}

/** The decision for one message, with what the Settler needs to carry it out and report it. */
export interface Verdict<M extends IncomingMessage> {
  message: M;
  decision: Decision;
  context: MessageContext;
  /** The event, when the message held a valid one. */
  event: QueueMessage | undefined;
  /**
   * Set when the event is stored: `key` names the row when this batch stored it; `dataJson` is
   * its data as the insert sent it, for the fan-out to publish without making it again.
   */
  stored?: { key: StoredKey | undefined; dataJson?: string | undefined } | undefined;
}

/**
 * The consumer's work on one batch, without a broker: decode every message, store the valid
 * ones with one statement, and decide each message's fate from its outcome. Returns one
 * verdict per message, in order, and never throws: an unexpected error sends the whole batch
 * down the retry path with the error as its reason. (`publishStoredEvents` comes next.)
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

  const events = decoded.flatMap((d) => (d.ok ? [toRow(d.event, d.context.requestId)] : []));
  const stored = await deps.store(events);
  if (stored.length !== events.length) {
    throw new Error(`store returned ${stored.length} outcomes for ${events.length} events`);
  }

  let next = 0;
  return decoded.map((d) => {
    const row = d.ok ? events[next] : undefined;
    const outcome: Outcome = d.ok ? outcomeAt(stored, next++) : { kind: 'invalid', error: d.error };
    return {
      message: d.message,
      decision: decide(outcome, d.context.attempt, deps.retryDelaysMs),
      context: d.context,
      event: d.ok ? d.event : undefined,
      stored: outcome.kind === 'stored' ? { key: outcome.key, dataJson: row?.dataJson } : undefined,
    };
  });
}

export interface PublishStoredDeps {
  /** Publishes stored events to the events exchange. */
  fanOut: FanOut;
  retryDelaysMs: readonly number[];
}

/**
 * The step after `processBatch` when there is an events exchange: publishes every stored event
 * (after the commit, before any ack) and decides again for those not published, which go back
 * to the queue (`not-published`): their redelivery publishes them. Never throws: a fan-out that
 * does (a bug) leaves them all unpublished, never retried or dead-lettered for it.
 */
export async function publishStoredEvents<M extends IncomingMessage>(
  verdicts: readonly Verdict<M>[],
  deps: PublishStoredDeps,
): Promise<Verdict<M>[]> {
  const items: Array<FanOutItem & { index: number }> = [];
  verdicts.forEach((verdict, index) => {
    if (verdict.event === undefined || verdict.stored === undefined) return;
    const { event, stored, context } = verdict;
    items.push({
      event,
      key: stored.key,
      dataJson: stored.dataJson,
      requestId: context.requestId,
      index,
    });
  });
  if (items.length === 0) return [...verdicts];
  const results = await deps.fanOut(items).catch((err: unknown) => {
    const error = new FanOutError(err);
    return items.map((): FanOutOutcome => ({ published: false, error }));
  });
  const decided = [...verdicts];
  items.forEach((item, n) => {
    const result = results[n] ?? { published: false, error: new FanOutError('no outcome') };
    const verdict = decided[item.index];
    if (result.published || verdict === undefined) return;
    const outcome: Outcome = { kind: 'not-published', error: result.error };
    decided[item.index] = {
      ...verdict,
      decision: decide(outcome, verdict.context.attempt, deps.retryDelaysMs),
    };
  });
  return decided;
}

function outcomeAt(outcomes: readonly StoreOutcome[], index: number): StoreOutcome {
  const outcome = outcomes[index];
  if (outcome === undefined) throw new Error(`no outcome for event ${index}`);
  return outcome;
}

function toRow(event: QueueMessage, requestId: string | undefined): EventRow {
  return {
    eventId: event.id,
    source: event.source,
    type: event.type,
    data: event.data,
    // Made once here: the insert sends it, and the fan-out publishes it.
    dataJson: stringifyExactJson(event.data),
    timestamp: event.timestamp,
    requestId,
  };
}
