import { MessageHeader } from '@webhooks/contracts';
import type { Channel } from 'amqplib';
import type { OutgoingMessage } from './confirm-publisher.js';

/** AMQP carries a routing key as a short string: at most 255 bytes. */
export const MAX_ROUTING_KEY_BYTES = 255;

/** Headers of a message on the events exchange. */
export const EventsExchangeHeader = {
  /** `msg_` + the stored row's uuid: the same for every copy of one stored event. */
  webhookId: 'webhook-id',
  /** The event's whole source, which the routing key may have had to cut. */
  source: 'x-source',
  /** The event's whole type, which the routing key may have had to cut. */
  type: 'x-type',
} as const;

/** A stored event, as the events exchange carries it. */
export interface StoredEventMessage {
  /** The row's uuid. */
  rowId: string;
  /** The event's own id (the provider's). */
  eventId: string;
  source: string;
  type: string;
  /** As stored: RFC 3339 UTC. */
  timestamp: string;
  /** `data` as JSON text with every digit of its numbers. */
  dataJson: string;
  /** The ingest request that brought it, when known. */
  requestId?: string | undefined;
}

/**
 * Declares the events exchange: durable, topic, so that a consumer in any language binds its
 * own queue with patterns such as `shop.#`. Idempotent.
 */
export async function assertEventsExchange(channel: Channel, name: string): Promise<void> {
  await channel.assertExchange(name, 'topic', { durable: true });
}

/**
 * `<source>.<type>`, cut to `MAX_ROUTING_KEY_BYTES` bytes of UTF-8 when longer (never inside a
 * character): source and type may each be 255 characters, which the broker would refuse as a
 * key. The headers carry both in full.
 */
export function eventsRoutingKey(source: string, type: string): string {
  const key = `${source}.${type}`;
  if (Buffer.byteLength(key) <= MAX_ROUTING_KEY_BYTES) return key;
  let bytes = 0;
  let end = 0;
  for (const character of key) {
    bytes += Buffer.byteLength(character);
    if (bytes > MAX_ROUTING_KEY_BYTES) break;
    end += character.length;
  }
  return key.slice(0, end);
}

/**
 * A stored event as published to the events exchange: persistent JSON
 * `{"id","source","type","timestamp","data"}`, `webhook-id` (also the message id) naming the
 * stored row. Not `mandatory`: an exchange no queue is bound to is normal, not a failure.
 */
export function storedEventMessage(exchange: string, event: StoredEventMessage): OutgoingMessage {
  const webhookId = `msg_${event.rowId}`;
  const head = JSON.stringify({
    id: event.eventId,
    source: event.source,
    type: event.type,
    timestamp: event.timestamp,
  });
  const headers: Record<string, unknown> = {
    [EventsExchangeHeader.webhookId]: webhookId,
    [EventsExchangeHeader.source]: event.source,
    [EventsExchangeHeader.type]: event.type,
  };
  if (event.requestId !== undefined) headers[MessageHeader.requestId] = event.requestId;
  return {
    exchange,
    routingKey: eventsRoutingKey(event.source, event.type),
    // The data's text is spliced in as is: parsing it would round its numbers.
    body: Buffer.from(`${head.slice(0, -1)},"data":${event.dataJson}}`),
    properties: { messageId: webhookId, contentType: 'application/json', headers },
    mandatory: false,
  };
}
