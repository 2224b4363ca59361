import { publishingConnection, type Topology } from '@webhooks/queue';
import type { Logger } from 'pino';
import { BENCH_SOURCE } from './payload.js';

export interface PrefillOptions {
  amqpUrls: string[];
  logger: Logger;
  topology: Topology;
  /** Messages of type `drain`, ids `drain-0` onwards. */
  count: number;
}

/** Publishes `count` messages straight into the topology's queue, as the ingest API would. */
export async function prefill(options: PrefillOptions): Promise<void> {
  const { amqpUrls, logger, topology, count } = options;
  const { connection, publisher } = publishingConnection({
    url: amqpUrls,
    logger,
    connectionName: 'bench-prefill',
    timeoutMs: 30_000,
    maxInFlight: 1000,
    topology,
  });
  connection.start();
  await connection.waitUntilConnected(10_000);
  const now = new Date().toISOString();
  const window: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const id = `drain-${i}`;
    const body = Buffer.from(
      JSON.stringify({
        id,
        source: BENCH_SOURCE,
        type: 'drain',
        data: { i },
        timestamp: now,
        receivedAt: now,
      }),
    );
    window.push(
      publisher.publish({
        exchange: '',
        routingKey: topology.queue,
        body,
        properties: { messageId: id, contentType: 'application/json', headers: { 'x-attempt': 1 } },
      }),
    );
    if (window.length >= 500) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await publisher.close();
  await connection.close();
}
