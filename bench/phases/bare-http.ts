import { closedLoad } from '../lib/load-generators.js';
import { measureCpu } from '../lib/machine-samples.js';
import { assertListensOn, startNode, waitForLine } from '../lib/processes.js';
import type { Phase } from '../phase.js';
import type { ClosedLoad } from '../types.js';

/**
 * The ceiling: a bare `node:http` server that reads and parses the same body and answers JSON,
 * under the ingest phase's closed load. What Node and the machine allow before any pipeline.
 */
export const bareHttpPhase: Phase<ClosedLoad> = async ({ plan, log }) => {
  log(`ceiling: bare Node HTTP server, ${plan.connections} connections, ${plan.loadSeconds} s`);
  const bare = startNode('bare server', ['--import', 'tsx', 'bench/bare-server.ts']);
  try {
    const port = Number((await waitForLine(bare, /^listening \d+/)).split(' ')[1]);
    assertListensOn(bare, port);
    const cpu = measureCpu({ server: bare.child.pid });
    const load = await closedLoad(
      `http://127.0.0.1:${port}/webhook`,
      plan.connections,
      plan.loadSeconds,
    );
    bare.assertRunning();
    return { ...load, cpu: cpu.stop() };
  } finally {
    await bare.stop();
  }
};
