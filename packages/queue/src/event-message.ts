import { MessageHeader, type QueueMessage, stringifyExactJson } from '@webhooks/contracts';
import type { OutgoingMessage } from './confirm-publisher.js';
import type { Topology } from './topology.js';

/**
 * An event as the ingest API publishes it, first attempt: persistent JSON to the topology's
 * exchange, its id as message id. `pnpm rejected:replay` publishes a replayed event with it
 * too, so that the consumer cannot tell the two apart.
 */
export function eventMessage(
  event: QueueMessage,
  topology: Topology,
  context: { requestId: string },
): OutgoingMessage {
  return {
    exchange: topology.exchange,
    routingKey: topology.routingKey,
    // Numbers of `data` as the sender wrote them (see `parseExactJson`).
    body: Buffer.from(stringifyExactJson(event)),
    properties: {
      messageId: event.id,
      contentType: 'application/json',
      // AMQP timestamps are whole seconds; the body keeps the precise `receivedAt`.
      timestamp: Math.floor(Date.parse(event.receivedAt) / 1000),
      appId: 'ingest-api',
      headers: { [MessageHeader.requestId]: context.requestId, [MessageHeader.attempt]: 1 },
    },
  };
}
