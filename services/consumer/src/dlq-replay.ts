import { MessageHeader } from '@webhooks/contracts';
import {
  type InspectedMessage,
  type MoveResult,
  type PublishProperties,
  type QueueAdmin,
  republishProperties,
  type Topology,
} from '@webhooks/queue';

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
  now?: () => Date;
}

export interface ReplayResult extends MoveResult {
  /** Messages still in the dead-letter queue afterwards. */
  left: number;
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
  const { admin, topology } = options;
  const now = options.now ?? (() => new Date());
  const filtered = options.source !== undefined || options.type !== undefined;

  const result = await admin.moveMessages({
    from: topology.deadLetterQueue,
    to: topology.queue,
    limit: options.limit ?? Number.POSITIVE_INFINITY,
    dryRun: options.dryRun ?? false,
    select: (message) => {
      if (filtered && !matches(message, options)) return undefined;
      return replayProperties(message, now());
    },
  });
  return { ...result, left: await admin.count(topology.deadLetterQueue) };
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
