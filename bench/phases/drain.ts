import { cpuMicrosPer } from '../lib/capacity.js';
import { storedLatency, waitForRows } from '../lib/event-rows.js';
import { measureCpu } from '../lib/machine-samples.js';
import { prefill } from '../lib/prefill.js';
import type { Service } from '../lib/services.js';
import type { Phase, PhaseContext } from '../phase.js';
import type { BenchResult } from '../types.js';

export interface DrainOptions {
  /** Names the phase's peak RSS (`drain`, `drain-memory`). */
  phase: string;
  /** Started with the consumer, and the function it returns called before it is stopped. */
  watch?: ((consumer: Service) => () => void) | undefined;
}

/**
 * Pre-fills a fresh queue with `plan.drainMessages`, then lets a consumer alone store them:
 * rows per second over the span of `created_at`.
 */
export async function drainPrefilled(
  { plan, env }: PhaseContext,
  { phase, watch }: DrainOptions,
): Promise<BenchResult['drain']> {
  const topology = env.freshTopology('drain');
  await prefill({
    amqpUrls: env.amqpUrls,
    logger: env.logger,
    topology,
    count: plan.drainMessages,
  });
  const consumer = await env.startConsumer(topology);
  const stopWatching = watch?.(consumer);
  try {
    const cpu = measureCpu({ consumer: consumer.running.child.pid });
    const stored = await waitForRows(env.db, 'drain', plan.drainMessages, 120_000);
    const share = cpu.stop();
    const latency = await storedLatency(env.db, 'drain');
    return {
      messages: plan.drainMessages,
      stored,
      rowsPerSecond: stored / Math.max(latency.spanSeconds, 0.001),
      consumerCpuMicros: cpuMicrosPer({
        percent: share?.processes.consumer,
        seconds: share?.seconds ?? 0,
        count: stored,
      }),
    };
  } finally {
    stopWatching?.();
    await env.stopServices(phase, { consumer });
  }
}

/** The consumer alone against a full queue: how fast it stores, every message kept. */
export const drainPhase: Phase<BenchResult['drain']> = async (context) => {
  context.log(`drain: ${context.plan.drainMessages} messages pre-filled, then the consumer alone`);
  return drainPrefilled(context, { phase: 'drain' });
};
