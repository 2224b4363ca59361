import { BenchEnvironment } from './lib/environment.js';
import { parseFlags, planFor } from './lib/flags.js';
import { writeResult } from './lib/result-file.js';
import { modeFor } from './modes.js';

// `pnpm bench [--quick | --soak | --cold-start | --drain-memory | --delivery-outage] [--cluster]
// [--queue-type quorum] [--rate N] [--seconds S] [--profile]`: measures the pipeline on this
// machine, every phase in one run (bench/phases/, in the order bench/modes.ts gives), and writes
// bench/results/<timestamp>.json. See docs/performance.md for what each phase means. `--cluster`
// starts three RabbitMQ nodes of the installed rabbitmq-server beside the machine's own (the test
// suite's helper) and gives the services all three, with quorum queues; `BENCH_AMQP_URL` may
// also list the nodes of a running cluster, comma-separated. `pnpm bench --storage` measures
// the storage of events alone (bench/storage.ts).
if (process.argv.includes('--storage')) {
  const { runStorageBench } = await import('./storage.js');
  process.exitCode = await runStorageBench(process.argv.slice(2));
} else {
  await pipelineBench();
}

async function pipelineBench(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const mode = modeFor(flags);

  function log(line: string): void {
    process.stdout.write(`· ${line}\n`);
  }

  const env = await BenchEnvironment.start({
    queueType: flags.queueType,
    amqpUrls: (process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672')
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url !== ''),
    databaseUrl:
      process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/webhooks_bench',
    cluster: flags.cluster,
    profile: flags.profile,
    // Extra settings for both services, as JSON (`BENCH_SERVICE_ENV='{"BATCH_SIZE":"1000"}'`).
    serviceEnv: JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}') as Record<string, string>,
    // Node flags added after the `start` script's own (`BENCH_NODE_FLAGS='--max-old-space-size=4096'`;
    // for V8 the last occurrence of a flag wins), to compare settings.
    extraNodeFlags: (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== ''),
    log,
  });
  try {
    const report = await mode({ flags, plan: planFor(flags), env, log });
    const file = writeResult(new Date(report.result.startedAt), report.suffix, report.result);
    process.stdout.write(`\n${report.text}\nWritten to ${file}\n`);
    if (report.failedGates.length > 0) {
      process.stdout.write(`\nFAILED: ${report.failedGates.join('; ')}\n`);
    }
    if (report.failed) process.exitCode = 1;
  } finally {
    await env.close();
  }
}
