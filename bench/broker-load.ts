import { randomUUID } from 'node:crypto';
import { MessageHeader, type QueueMessage } from '@webhooks/contracts';
import { publishingConnection, type TopologyOptions, topologyFor } from '@webhooks/queue';
import { pino } from 'pino';
import { failureReason } from './lib/failures.js';
import { LatencySeconds, round } from './lib/latency-seconds.js';
import { runOpenLoop } from './lib/open-loop.js';
import { benchBody } from './lib/payload.js';

// The broker alone: confirmed persistent publishes through the project's ConfirmPublisher,
// the same messages the ingest API publishes, no HTTP. `closed` keeps `concurrency` publishes
// outstanding (the broker's ceiling at the ingest phase's concurrency); `open` publishes at a
// fixed rate (the broker's own tail at the fixed-rate phase's rate). Own process, like the
// HTTP load generators. argv: one JSON document, `BrokerLoadPlan`.
export interface BrokerLoadPlan {
  amqpUrl: string | string[];
  topology: TopologyOptions;
  mode: 'closed' | 'open';
  seconds: number;
  /** closed: publishes outstanding at once. */
  concurrency?: number;
  /** open: publishes per second, and the seconds reported apart as warm-up. */
  ratePerSecond?: number;
  warmupSeconds?: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as BrokerLoadPlan;
const topology = topologyFor(plan.topology);
const logger = pino({ level: 'warn' });
const { connection, publisher } = publishingConnection({
  url: plan.amqpUrl,
  logger,
  connectionName: 'bench-broker',
  timeoutMs: 30_000,
  maxInFlight: 100_000,
  topology,
});
const { source, type, data } = JSON.parse(benchBody) as Pick<
  QueueMessage,
  'source' | 'type' | 'data'
>;

/**
 * One publish as the ingest API makes it (see its event publisher): undefined once confirmed,
 * otherwise what failed.
 */
async function publishOne(): Promise<string | undefined> {
  const receivedAt = new Date().toISOString();
  const event: QueueMessage = {
    id: randomUUID(),
    source,
    type,
    data,
    timestamp: receivedAt,
    receivedAt,
  };
  try {
    await publisher.publish({
      exchange: topology.exchange,
      routingKey: topology.routingKey,
      body: Buffer.from(JSON.stringify(event)),
      properties: {
        messageId: event.id,
        contentType: 'application/json',
        timestamp: Math.floor(Date.now() / 1000),
        appId: 'bench',
        headers: { [MessageHeader.attempt]: 1 },
      },
    });
    return undefined;
  } catch (error) {
    return failureReason({ error });
  }
}

async function closedLoop(concurrency: number, seconds: number) {
  const latencies = new LatencySeconds();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let confirmed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const at = performance.now();
      const ok = (await publishOne()) === undefined;
      latencies.record(Math.floor((at - started) / 1000), performance.now() - at, ok);
      if (ok) confirmed += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  const summary = latencies.summary();
  return {
    concurrency,
    publishesPerSecond: round(confirmed / elapsedSeconds, 1),
    confirmed,
    failed: summary.failed,
    latencyP50Ms: summary.p50Ms,
    latencyP99Ms: summary.p99Ms,
  };
}

connection.start();
await connection.waitUntilConnected(10_000);
// The publisher opens its channel (and declares the topology) once connected.
const readyBy = Date.now() + 10_000;
while (!publisher.ready && Date.now() < readyBy) await new Promise((r) => setTimeout(r, 20));
if (!publisher.ready) throw new Error('broker load: no confirm channel within 10 s');

const result =
  plan.mode === 'closed'
    ? await closedLoop(plan.concurrency ?? 100, plan.seconds)
    : await runOpenLoop({
        ratePerSecond: plan.ratePerSecond ?? 1000,
        seconds: plan.seconds,
        warmupSeconds: plan.warmupSeconds ?? 0,
        send: publishOne,
      });
await publisher.close();
await connection.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
