export { AmqpConnection, type AmqpConnectionOptions } from './amqp-connection.js';
export {
  ConfirmPublisher,
  type ConfirmPublisherOptions,
  type OutgoingMessage,
} from './confirm-publisher.js';
export type { Delivery, DeliveryHandler } from './delivery.js';
export {
  QueueUnavailableError,
  type QueueUnavailableReason,
  TopologyMismatchError,
} from './errors.js';
export { eventMessage } from './event-message.js';
export {
  assertEventsExchange,
  EventsExchangeHeader,
  eventsRoutingKey,
  MAX_ROUTING_KEY_BYTES,
  type StoredEventMessage,
  storedEventMessage,
} from './events-exchange.js';
export {
  type MessageProperties,
  type PublishProperties,
  republishProperties,
} from './message-properties.js';
export {
  type PublishingConnectionOptions,
  publishingConnection,
} from './publishing-connection.js';
export {
  type InspectedMessage,
  type MoveOptions,
  type MoveResult,
  QueueAdmin,
} from './queue-admin.js';
export { QueueConsumer, type QueueConsumerOptions } from './queue-consumer.js';
export { QueueDepthProbe, type QueueDepthProbeOptions } from './queue-depth-probe.js';
export {
  assertRejectedQueue,
  type RejectedQueue,
  type RejectedQueueOptions,
  type RejectedQueueSettings,
  rejectedQueueFor,
  rejectedQueueFromSettings,
  rejectedQueueName,
} from './rejected-queue.js';
export {
  assertTopology,
  QUORUM_DELIVERY_LIMIT,
  type QueueType,
  settingsOfTopology,
  type Topology,
  type TopologyOptions,
  type TopologySettings,
  topologyFor,
  topologyFromSettings,
} from './topology.js';
