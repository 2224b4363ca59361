import { MessageHeader } from '@webhooks/contracts';
import type { DeadLettersRepository } from '@webhooks/db';
import {
  type InspectedMessage,
  type MoveResult,
  type PublishProperties,
  type QueueAdmin,
  republishProperties,
  type Topology,
} from '@webhooks/queue';
import type { Logger } from 'pino';
import { digestKey, identifyDeadLetter } from './dead-letter-key.js';

export interface ReplayOptions {
  admin: QueueAdmin;
  topology: Topology;
  /** Most messages to move. Default: all. */
  limit?: number | undefined;
  /** Only events of this source. */
  source?: string | undefined;
  /** Only events of this type. */
  type?: string | undefined;
  dryRun?: boolean | undefined;
  /**
   * Only the messages of the records with these keys (`dead_letters.message_key`), as the ops
   * API selects them: every message with one of these keys, however many share it.
   */
  messageKeys?: ReadonlySet<string> | undefined;
  /**
   * Marks the recorded dead letters that moved as replayed. Moving never depends on it: when
   * marking fails, the messages are back in the main queue all the same and this is logged.
   */
  deadLetters?: Pick<DeadLettersRepository, 'markReplayed'> | undefined;
  logger?: Pick<Logger, 'warn'> | undefined;
  now?: () => Date;
}

export interface ReplayResult extends MoveResult {
  /** Messages still in the dead-letter queue afterwards. */
  left: number;
  /** Recorded dead letters marked as replayed (0 without `deadLetters`). */
  marked: number;
}

/** Headers that describe the failure; a replayed message starts afresh without them. */
const FAILURE_HEADERS = new Set<string>([
  MessageHeader.deathReason,
  MessageHeader.lastError,
  MessageHeader.attempts,
  MessageHeader.firstFailedAt,
  'x-death',
]);

/**
 * Moves dead letters back to the main queue with their attempts reset (`x-attempt: 1`),
 * keeping the body, message id and request id, and recording `x-replayed-at` and
 * `x-replay-count`. With `source`/`type`, only events whose body matches move; a body that is
 * not an event then never matches.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const { admin, topology, messageKeys } = options;
  const now = options.now ?? (() => new Date());
  const filtered = options.source !== undefined || options.type !== undefined;
  // Before anything moves: a replayed message dead-lettered again while we run must show as
  // dead again, which compares this time with the new dead-lettering's.
  const startedAt = now();
  const movedKeys: string[] = [];
  // A message belongs to the record of its key, and to one keyed by its body's digest, as
  // non-events were keyed before they were keyed by message id. Selected by either; marks
  // those of them that selected it (without a selection, both).
  const keysOf = (message: InspectedMessage) => {
    const key = identifyDeadLetter(message.body, message.properties.messageId).messageKey;
    const digest = digestKey(message.body);
    const keys = key === digest ? [key] : [key, digest];
    return messageKeys === undefined ? keys : keys.filter((k) => messageKeys.has(k));
  };

  let result: MoveResult;
  try {
    result = await admin.moveMessages({
      from: topology.deadLetterQueue,
      to: topology.queue,
      limit: options.limit ?? Number.POSITIVE_INFINITY,
      dryRun: options.dryRun ?? false,
      select: (message) => {
        if (filtered && !matches(message, options)) return undefined;
        if (keysOf(message).length === 0) return undefined;
        return replayProperties(message, now());
      },
      onMoved: (message) => movedKeys.push(...keysOf(message)),
    });
  } catch (err) {
    // What moved before the failure is back in the main queue: say so in the table too.
    await markReplayed(options, movedKeys, startedAt);
    throw err;
  }
  const marked = await markReplayed(options, movedKeys, startedAt);
  return { ...result, marked, left: await admin.count(topology.deadLetterQueue) };
}

async function markReplayed(
  options: ReplayOptions,
  messageKeys: readonly string[],
  at: Date,
): Promise<number> {
  if (options.deadLetters === undefined || messageKeys.length === 0) return 0;
  try {
    return await options.deadLetters.markReplayed(messageKeys, at);
  } catch (err) {
    options.logger?.warn(
      { err, keys: messageKeys.length },
      'dead letters moved back but not marked as replayed in the database',
    );
    return 0;
  }
}

function matches(
  message: InspectedMessage,
  filter: Pick<ReplayOptions, 'source' | 'type'>,
): boolean {
  let event: unknown;
  try {
    event = JSON.parse(message.body.toString('utf8'));
  } catch {
    return false;
  }
  if (typeof event !== 'object' || event === null) return false;
  const { source, type } = event as { source?: unknown; type?: unknown };
  return (
    (filter.source === undefined || source === filter.source) &&
    (filter.type === undefined || type === filter.type)
  );
}

function replayProperties(message: InspectedMessage, at: Date): PublishProperties {
  const headers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message.headers)) {
    if (!FAILURE_HEADERS.has(key)) headers[key] = value;
  }
  const previous = Number(message.headers['x-replay-count'] ?? 0);
  headers[MessageHeader.attempt] = 1;
  headers['x-replayed-at'] = at.toISOString();
  headers['x-replay-count'] = Number.isInteger(previous) ? previous + 1 : 1;
  return republishProperties(message.properties, headers);
}
