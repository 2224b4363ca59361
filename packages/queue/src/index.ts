export { AmqpConnection, type AmqpConnectionOptions } from './amqp-connection.js';
export {
  ConfirmPublisher,
  type ConfirmPublisherOptions,
  type OutgoingMessage,
} from './confirm-publisher.js';
export {
  QueueUnavailableError,
  type QueueUnavailableReason,
  TopologyMismatchError,
} from './errors.js';
export {
  type InspectedMessage,
  type MoveOptions,
  type MoveResult,
  QueueAdmin,
} from './queue-admin.js';
export { type Delivery, QueueConsumer, type QueueConsumerOptions } from './queue-consumer.js';
export { QueueDepthProbe, type QueueDepthProbeOptions } from './queue-depth-probe.js';
export {
  assertRejectedQueue,
  type RejectedQueue,
  type RejectedQueueOptions,
  rejectedQueueFor,
  rejectedQueueName,
} from './rejected-queue.js';
export {
  assertTopology,
  QUORUM_DELIVERY_LIMIT,
  type QueueType,
  type Topology,
  type TopologyOptions,
  topologyFor,
} from './topology.js';
