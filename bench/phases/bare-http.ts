import { closedLoad } from '../lib/load-generators.js';
import { measureCpu } from '../lib/machine-samples.js';
import { assertListensOn, startNode, waitForLine } from '../lib/processes.js';
import type { Phase, PhaseContext } from '../phase.js';
import type { ClosedLoad } from '../types.js';

/**
 * The ceiling: a bare `node:http` server that reads and parses the same body and answers JSON,
 * under the ingest phase's closed load. What Node and the machine allow before any pipeline.
 */
export const bareHttpPhase: Phase<ClosedLoad> = async (context) => {
  const { plan, log } = context;
  log(`ceiling: bare Node HTTP server, ${plan.connections} connections, ${plan.loadSeconds} s`);
  return runBareServer(context);
};

/**
 * The bare server again, on the ingest phase's connections but held to the rate the ingest API
 * reached: a process answering fewer requests per second spends more CPU on each (each wake-up
 * serves fewer of them), so this is the bare server's CPU per request at the ingest's own load.
 */
export async function bareHttpAtRatePhase(
  context: PhaseContext,
  requestsPerSecond: number,
): Promise<ClosedLoad> {
  const { plan, log } = context;
  const rate = Math.max(1, Math.round(requestsPerSecond));
  log(
    `bare server at the ingest's rate: ${rate}/s over ${plan.connections} connections, ${plan.loadSeconds} s`,
  );
  return runBareServer(context, rate);
}

async function runBareServer({ plan }: PhaseContext, overallRate?: number): Promise<ClosedLoad> {
  const bare = startNode('bare server', ['--import', 'tsx', 'bench/bare-server.ts']);
  try {
    const port = Number((await waitForLine(bare, /^listening \d+/)).split(' ')[1]);
    assertListensOn(bare, port);
    const cpu = measureCpu({ server: bare.child.pid });
    const load = await closedLoad(
      `http://127.0.0.1:${port}/webhook`,
      plan.connections,
      plan.loadSeconds,
      overallRate,
    );
    bare.assertRunning();
    return { ...load, cpu: cpu.stop() };
  } finally {
    await bare.stop();
  }
}
