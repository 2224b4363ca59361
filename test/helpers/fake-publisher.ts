import type { QueueMessage } from '@webhooks/contracts';
import type { EventPublisher } from '../../services/ingest-api/src/event-publisher.js';

/** Stands in for the broker in the ingest API's tests: records what it was given, fails on demand. */
export class FakePublisher implements EventPublisher {
  ready = true;
  /** Set to make every publish reject with it. */
  failure: Error | undefined;
  /** The events published, in order. */
  readonly published: QueueMessage[] = [];
  /** The request id each of them was published with. */
  readonly requestIds: string[] = [];

  async publish(event: QueueMessage, context: { requestId: string }): Promise<void> {
    if (this.failure) throw this.failure;
    this.published.push(event);
    this.requestIds.push(context.requestId);
  }
}
