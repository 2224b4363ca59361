import { AmqpConnection, type AmqpConnectionOptions } from './amqp-connection.js';
import { ConfirmPublisher, type ConfirmPublisherOptions } from './confirm-publisher.js';

export type PublishingConnectionOptions = AmqpConnectionOptions &
  Omit<ConfirmPublisherOptions, 'connection' | 'logger'>;

/**
 * A broker connection and a confirm publisher on it: what every publishing process opens. The
 * publisher is the connection's first listener, so what it declares (the topology, the rejected
 * queue, the events exchange) exists on every fresh connection before anything else uses it.
 * Nothing connects until `connection.start()`.
 */
export function publishingConnection(options: PublishingConnectionOptions): {
  connection: AmqpConnection;
  publisher: ConfirmPublisher;
} {
  const {
    timeoutMs,
    maxInFlight,
    topology,
    rejectedQueue,
    eventsExchange,
    refusingChannelMs,
    ...amqp
  } = options;
  const connection = new AmqpConnection(amqp);
  const publisher = new ConfirmPublisher({
    connection,
    logger: options.logger,
    timeoutMs,
    maxInFlight,
    ...(topology === undefined ? {} : { topology }),
    ...(rejectedQueue === undefined ? {} : { rejectedQueue }),
    ...(eventsExchange === undefined ? {} : { eventsExchange }),
    ...(refusingChannelMs === undefined ? {} : { refusingChannelMs }),
  });
  return { connection, publisher };
}
