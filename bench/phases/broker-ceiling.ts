import { brokerLoad } from '../lib/load-generators.js';
import { measureCpu } from '../lib/machine-samples.js';
import type { Phase } from '../phase.js';
import type { BrokerCeiling } from '../types.js';

/**
 * The broker's ceiling: confirmed persistent publishes through the project's `ConfirmPublisher`,
 * as many outstanding as the ingest phase has connections, no HTTP. Every confirm must then be
 * in the queue.
 */
export const brokerCeilingPhase: Phase<BrokerCeiling> = async ({ plan, env, log }) => {
  log(
    `broker ceiling: confirmed publishes, ${plan.connections} outstanding, ${plan.loadSeconds} s`,
  );
  const topology = env.freshTopology('broker');
  const cpu = measureCpu({});
  const load = await brokerLoad<Omit<BrokerCeiling, 'queued'>>(env.amqpUrls, {
    topology: env.topologyOptions('broker'),
    mode: 'closed',
    concurrency: plan.connections,
    seconds: plan.loadSeconds,
  });
  return { ...load, cpu: cpu.stop(), queued: await env.admin.count(topology.queue) };
};
