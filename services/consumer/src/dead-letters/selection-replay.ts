import type { DeadLetterSelection, DeadLettersRepository } from '@webhooks/db';
import type { QueueAdmin, Topology } from '@webhooks/queue';
import type { Logger } from 'pino';
import { replayDeadLetters } from './dlq-replay.js';

/** Most dead letters one replay request selects; a larger backlog takes several requests. */
export const MAX_REPLAY_SELECTION = 10_000;

export interface SelectionReplayOptions {
  deadLetters: Pick<DeadLettersRepository, 'findReplayable' | 'markReplayed'>;
  /** Opens a short-lived broker connection for the move; closed afterwards. */
  connectAdmin: () => Promise<QueueAdmin>;
  topology: Topology;
  logger: Pick<Logger, 'warn'>;
}

export interface SelectionReplayResult {
  /** Recorded dead letters selected that wait in the dead-letter queue. */
  matched: number;
  /**
   * Messages moved back to the main queue (0 in a dry run): every copy of each selected dead
   * letter waiting in the queue, so it can exceed `matched`.
   */
  moved: number;
}

/**
 * Replays recorded dead letters: by id, or all that match a filter. The selection is read from
 * the table, so a dry run counts without touching the queue (taking a message from a quorum
 * queue and giving it back counts as a redelivery). A real run then moves the queue messages
 * of those rows, and only those, with the same code as `pnpm dlq:replay`: all of them, since
 * one row can stand for several messages (copies of one event, equal bodies without an id).
 */
export function selectionReplay(options: SelectionReplayOptions) {
  return async (
    selection: DeadLetterSelection,
    run: { dryRun: boolean },
  ): Promise<SelectionReplayResult> => {
    const keys = await options.deadLetters.findReplayable(selection, MAX_REPLAY_SELECTION);
    if (run.dryRun || keys.length === 0) return { matched: keys.length, moved: 0 };
    const admin = await options.connectAdmin();
    try {
      const result = await replayDeadLetters({
        admin,
        topology: options.topology,
        // No limit: how many queue messages a row stands for is not known (a crash between
        // the DLQ copy and its record leaves an uncounted copy), so the whole queue is read.
        messageKeys: new Set(keys),
        deadLetters: options.deadLetters,
        logger: options.logger,
      });
      return { matched: keys.length, moved: result.moved };
    } finally {
      await admin.close();
    }
  };
}

export type ReplaySelection = ReturnType<typeof selectionReplay>;
