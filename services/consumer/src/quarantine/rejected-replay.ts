import type { QueueMessage } from '@webhooks/contracts';
import type { KeysetPosition, RejectedRequestsRepository } from '@webhooks/db';
import type { VerifyProviderRequest } from '@webhooks/providers';

export interface ReplayRejectedOptions {
  repository: Pick<RejectedRequestsRepository, 'findNotAdmitted' | 'markAdmitted'>;
  /** The ingest API's own verification, built from the current `WEBHOOK_SOURCES`. */
  verify: VerifyProviderRequest;
  /** Publishes an event as the ingest API does; resolves once the broker confirmed it. */
  publish: (event: QueueMessage, context: { requestId: string }) => Promise<void>;
  /** Only requests kept for this source. */
  source?: string | undefined;
  /** Only requests received at or after this time (RFC 3339). */
  since?: string | undefined;
  /** Verify and count; publish and mark nothing. */
  dryRun: boolean;
  /** Rows read per query. Default 100. */
  pageSize?: number;
}

export interface ReplayRejectedSummary {
  /** Signature (and source) now accepted. */
  verified: number;
  /** Still refused with 401 or 404: left as they are. */
  stillRejected: number;
  /** Verified, published and confirmed by the broker, and marked admitted. */
  published: number;
  /** Verified but not an event the API would accept (400: not JSON, no usable id or type). */
  unusable: number;
}

/**
 * Verifies each kept request not yet admitted again, with the code of `POST /webhook/:source`,
 * as of its time of receipt (so a signed timestamp is as fresh as it was then), and publishes
 * those that now verify as the API would have: the provider's delivery id is the event id,
 * so an event also redelivered by the provider meanwhile is stored once. Each published
 * request is marked admitted after the broker's confirm; a crash in between only means the
 * next run publishes it again, which deduplication absorbs.
 */
export async function replayRejected(
  options: ReplayRejectedOptions,
): Promise<ReplayRejectedSummary> {
  const summary: ReplayRejectedSummary = {
    verified: 0,
    stillRejected: 0,
    published: 0,
    unusable: 0,
  };
  let after: KeysetPosition | undefined;
  for (;;) {
    const page = await options.repository.findNotAdmitted({
      source: options.source,
      since: options.since,
      after,
      limit: options.pageSize ?? 100,
    });
    for (const kept of page.items) {
      const result = options.verify({
        source: kept.source,
        rawBody: kept.body,
        headers: kept.headers,
        receivedAtMs: Date.parse(kept.receivedAt),
      });
      if (!result.success) {
        if (result.rejection !== undefined) summary.stillRejected += 1;
        else {
          summary.verified += 1;
          summary.unusable += 1;
        }
        continue;
      }
      summary.verified += 1;
      if (options.dryRun) continue;
      await options.publish(result.event, { requestId: kept.requestId ?? kept.id });
      await options.repository.markAdmitted(kept.id, result.event.id);
      summary.published += 1;
    }
    if (page.next === undefined) return summary;
    after = page.next;
  }
}

/** The one line `pnpm rejected:replay` prints. */
export function summaryLine(summary: ReplayRejectedSummary, dryRun: boolean): string {
  const published = dryRun ? 'would publish' : 'published';
  const count = dryRun ? summary.verified - summary.unusable : summary.published;
  const unusable =
    summary.unusable > 0 ? ` (${summary.unusable} verified but not valid events)` : '';
  return `verified ${summary.verified}, still rejected ${summary.stillRejected}, ${published} ${count}${unusable}`;
}
