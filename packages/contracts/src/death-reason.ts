import { z } from 'zod';

/**
 * Why a message is in the dead-letter queue: its `x-death-reason` header, as the consumer decides
 * it. The one list: the consumer's policy, its ops API filters and the console all read it.
 */
export const DeathReason = z.enum(['invalid_message', 'rejected_by_database', 'retries_exhausted']);
export type DeathReason = z.infer<typeof DeathReason>;
