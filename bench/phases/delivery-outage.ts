import { waitForArrivals } from '../lib/arrivals.js';
import { startDeliveryReceiver } from '../lib/delivery-receiver.js';
import { waitForRows } from '../lib/event-rows.js';
import { settledAccepted } from '../lib/ingest-metrics.js';
import { leastSquaresSlope } from '../lib/least-squares.js';
import { fixedRateLoad } from '../lib/load-generators.js';
import { freePort } from '../lib/processes.js';
import { loadAverageNow, machineOf } from '../lib/result-file.js';
import type { Service } from '../lib/services.js';
import {
  benchSecret,
  deliveryCounts,
  storedToDelivered,
  subscribe,
  waitForDelivered,
} from '../lib/subscriptions.js';
import { autovacuumIsOn, standInForAutovacuum } from '../lib/vacuum.js';
import type { Phase } from '../phase.js';
import type { DeliveryOutageResult } from '../types.js';
import { BENCH_MAX_IN_FLIGHT, VERIFY_EVERY } from './delivery.js';

const TYPE = 'order.created';

/**
 * `--delivery-outage`: events through the ingest API at a steady rate (default 500/s for 300 s;
 * `--rate`/`--seconds`), two subscriptions taking every one, with the default retry schedule:
 * one destination up, the other not listening the whole time. The consumer's RSS is sampled
 * every few seconds and must stay flat: the dead destination's backlog waits in the table, not
 * in memory. Every event must be stored and delivered to the destination that is up.
 */
export const deliveryOutagePhase: Phase<DeliveryOutageResult> = async ({ flags, env, log }) => {
  const startedAt = new Date();
  const loadAverageAtStart = loadAverageNow();
  const ratePerSecond = flags.rate ?? 500;
  const seconds = flags.seconds ?? 300;
  const warmupSeconds = Math.min(60, Math.round(seconds / 5));
  const sampleEveryMs = Math.min(5000, Math.max(1000, (seconds * 1000) / 60));
  const secret = benchSecret();
  const receiver = await startDeliveryReceiver({ secret, verifyEvery: VERIFY_EVERY });
  const topology = env.freshTopology('outage');
  let consumer: Service | undefined;
  let ingest: Service | undefined;
  try {
    consumer = await env.startConsumer(topology);
    ingest = await env.startIngest(topology);
    const shared = { types: [TYPE], secret, maxInFlight: BENCH_MAX_IN_FLIGHT };
    const [upId, downId] = await subscribe(env.db, [
      { name: 'outage-up', url: receiver.url('/outage-up'), ...shared },
      // A port that was free a moment ago: nothing listens there, every attempt is refused.
      { name: 'outage-down', url: `http://127.0.0.1:${await freePort()}/down`, ...shared },
    ]);
    if (upId === undefined || downId === undefined) throw new Error('subscriptions not created');
    log(
      `delivery outage: ${ratePerSecond}/s for ${seconds} s, one destination down, consumer RSS every ${sampleEveryMs / 1000} s`,
    );

    const samples: DeliveryOutageResult['samples'] = [];
    const sampledFrom = Date.now();
    const running = consumer.running;
    const takeSample = async () => {
      const rssMb = running.rssMb();
      if (rssMb === undefined) return;
      const pending = async (id: string) =>
        (await deliveryCounts(env.db, [id]).catch(() => undefined))?.pending ?? null;
      samples.push({
        second: Math.round((Date.now() - sampledFrom) / 1000),
        rssMb,
        upPending: await pending(upId),
        downPending: await pending(downId),
      });
    };
    await takeSample();
    const timer = setInterval(() => void takeSample(), sampleEveryMs);
    const autovacuum = await autovacuumIsOn(env.db);
    if (!autovacuum) log('autovacuum is off on this database: the bench vacuums once a minute');
    const vacuum = standInForAutovacuum(env.db, autovacuum);
    let load: Awaited<ReturnType<typeof fixedRateLoad>>;
    try {
      load = await fixedRateLoad(ingest.url('/webhook'), ratePerSecond, seconds, 5);
    } finally {
      clearInterval(timer);
      await vacuum.stop();
    }
    await takeSample();

    const accepted = await settledAccepted(ingest);
    const stored = await waitForRows(env.db, TYPE, accepted, 60_000);
    const arrived = await waitForArrivals(receiver, ['/outage-up'], stored, 120_000);
    const recorded = await waitForDelivered(env.db, [upId], stored, 30_000);
    const down = await deliveryCounts(env.db, [downId]);
    const attempts = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE d.subscription_id = $1`,
      [downId],
    );
    const upLatency = await storedToDelivered(env.db, await receiver.arrivals('/outage-up'));

    const steady = samples.filter((s) => s.second >= warmupSeconds);
    const startRssMb = steady[0]?.rssMb ?? 0;
    const endRssMb = steady.at(-1)?.rssMb ?? 0;
    const slopeMbPerMinute =
      Math.round(leastSquaresSlope(steady.map((s) => ({ x: s.second / 60, y: s.rssMb }))) * 100) /
      100;
    return {
      startedAt: startedAt.toISOString(),
      mode: 'delivery-outage',
      queueType: env.queueType,
      serviceEnv: env.serviceEnv,
      machine: machineOf(loadAverageAtStart),
      ratePerSecond,
      seconds,
      warmupSeconds,
      maxInFlight: BENCH_MAX_IN_FLIGHT,
      autovacuum,
      vacuums: vacuum.vacuums,
      accepted,
      stored,
      load: { achievedPerSecond: load.achievedPerSecond, failed: load.failed, steady: load.steady },
      up: { arrived: arrived.unique, recorded, storedToDelivered: upLatency },
      down: { pending: down.pending, failed: down.failed, attempts: attempts.rows[0]?.n ?? 0 },
      samples,
      startRssMb,
      endRssMb,
      maxRssMb: Math.max(0, ...samples.map((s) => s.rssMb)),
      slopeMbPerMinute,
    };
  } finally {
    await env.stopServices('delivery-outage', {
      ...(ingest ? { ingest } : {}),
      ...(consumer ? { consumer } : {}),
    });
    await receiver.running.stop();
  }
};
