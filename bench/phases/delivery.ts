import { DeliveriesRepository } from '@webhooks/db';
import { arrivalsAt, waitForArrivals } from '../lib/arrivals.js';
import { type DeliveryReceiver, startDeliveryReceiver } from '../lib/delivery-receiver.js';
import { CUSTOMER_ID_POINTER, retype, storeEvents, waitForRows } from '../lib/event-rows.js';
import { subscriptions } from '../lib/figures.js';
import { acceptedBy, settledAccepted } from '../lib/ingest-metrics.js';
import { closedLoad, fixedRateLoad } from '../lib/load-generators.js';
import { type CpuShare, measureCpu } from '../lib/machine-samples.js';
import { BENCH_SOURCE } from '../lib/payload.js';
import type { Service } from '../lib/services.js';
import {
  benchSecret,
  setSubscriptionState,
  storedToDelivered,
  subscribe,
  unsubscribe,
  waitForDelivered,
} from '../lib/subscriptions.js';
import { autovacuumIsOn, vacuumDeliveryTables } from '../lib/vacuum.js';
import type { PhaseContext } from '../phase.js';
import type {
  DeliveryBesideBackfill,
  DeliveryDrain,
  DeliveryLatency,
  DeliveryLive,
  DeliveryResult,
} from '../types.js';

/**
 * Every subscription's `maxInFlight`: what one would set for a fast internal receiver (the
 * default, 10, is for destinations of unknown capacity).
 */
export const BENCH_MAX_IN_FLIGHT = 100;
/** The receiver verifies one delivery in this many (the first included). */
export const VERIFY_EVERY = 100;
/** The keys of the ordered drain, interleaved in the backlog. */
export const ORDERED_DRAIN_KEYS = 1000;
/** The type the ingest API's bench body has: what the live subscriptions take. */
const LIVE_TYPE = 'order.created';

/** What the delivery runs share: the receiver, its secret and the services. */
interface Session {
  context: PhaseContext;
  receiver: DeliveryReceiver;
  secret: string;
  consumer: Service;
  /** Every path a subscription was given, to total the signatures verified at the end. */
  paths: string[];
}

/** `count` subscriptions named `<prefix>-<i>`, each to its own path of the receiver. */
async function subscriptionsFor(
  session: Session,
  prefix: string,
  count: number,
  options: { types: string[]; state: 'active' | 'paused'; orderingKey?: string },
): Promise<{ ids: string[]; paths: string[] }> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const paths = names.map((name) => `/${name}`);
  session.paths.push(...paths);
  const ids = await subscribe(
    session.context.env.db,
    names.map((name, i) => ({
      name,
      url: session.receiver.url(paths[i] ?? ''),
      secret: session.secret,
      maxInFlight: BENCH_MAX_IN_FLIGHT,
      ...options,
    })),
  );
  return { ids, paths };
}

/** CPU time per delivery of one process (or PostgreSQL's), µs, from a phase's average share. */
const microsPerDelivery = (percent: number | undefined, cpu: CpuShare, deliveries: number) =>
  percent === undefined || deliveries === 0
    ? undefined
    : Math.round((percent * cpu.seconds * 10_000) / deliveries);

/**
 * `plan.deliveryEvents` events stored with `count` paused subscriptions matching them (the
 * statement the consumer stores with makes their deliveries), then the subscriptions made
 * active: the consumer's sender alone against a backlog, timed to the last arrival. With
 * `orderingKeys`, the subscriptions are ordered per customer and the events of that many
 * customers interleave.
 */
async function drainBacklog(
  session: Session,
  count: number,
  orderingKeys?: number,
): Promise<DeliveryDrain> {
  const { env, plan, log } = session.context;
  await vacuumDeliveryTables(env.db);
  const events = plan.deliveryEvents;
  const ordered = orderingKeys !== undefined;
  const type = `delivery-drain-${count}${ordered ? '-ordered' : ''}`;
  log(
    `delivery drain: ${events} events stored for ${subscriptions(count)}${ordered ? `, ordered per key (${orderingKeys} keys)` : ''}, paused, then sent`,
  );
  const { ids, paths } = await subscriptionsFor(session, type, count, {
    types: [type],
    state: 'paused',
    ...(ordered ? { orderingKey: CUSTOMER_ID_POINTER } : {}),
  });
  await storeEvents(env.db, type, events, ordered ? { customers: orderingKeys } : {});
  const expected = events * count;
  const cpu = measureCpu({
    consumer: session.consumer.running.child.pid,
    receiver: session.receiver.running.child.pid,
  });
  const activatedAtMs = Date.now();
  await setSubscriptionState(env.db, ids, 'active');
  const arrived = await waitForArrivals(session.receiver, paths, events, 120_000);
  const recorded = await waitForDelivered(env.db, ids, expected, 30_000);
  const share = cpu.stop();
  const seconds = Math.max(0.001, (arrived.lastAtMs - activatedAtMs) / 1000);
  const per = (percent: number | undefined) =>
    share === undefined ? undefined : microsPerDelivery(percent, share, recorded);
  return {
    subscriptions: count,
    orderingKeys,
    events,
    arrived: arrived.unique,
    recorded,
    seconds: Math.round(seconds * 100) / 100,
    deliveriesPerSecond: Math.round(arrived.unique / seconds),
    eventsPerSecond: Math.round(arrived.unique / count / seconds),
    consumerCpuMicros: per(share?.processes.consumer),
    postgresCpuMicros: per(share?.postgresPercent),
    receiverCpuMicros: per(share?.processes.receiver),
    cpu: share,
  };
}

/** Rows of the bench's source and `type` stored up to `toMs`, and when the first one was. */
async function storedBetween(session: Session, type: string, toMs: number) {
  const result = await session.context.env.db.query<{ n: number; first: Date | null }>(
    `SELECT count(*)::int AS n, min(created_at) AS first FROM webhook_events
     WHERE source = $1 AND type = $2 AND created_at <= to_timestamp($3::float8 / 1000)`,
    [BENCH_SOURCE, type, toMs],
  );
  return { count: result.rows[0]?.n ?? 0, firstMs: result.rows[0]?.first?.getTime() ?? toMs };
}

/**
 * The end-to-end closed load (the curve's largest connection count) with `count` subscriptions
 * taking every event stored: stored/s and deliveries/s while the load runs, how far delivery
 * was behind when it stopped, and that every delivery arrived.
 */
async function liveBeside(session: Session, ingest: Service, count: number): Promise<DeliveryLive> {
  const { env, plan, log } = session.context;
  await vacuumDeliveryTables(env.db);
  const connections = plan.e2eConnections.at(-1) ?? plan.connections;
  log(
    `delivery live: e2e load, ${connections} connections, ${plan.e2eSeconds} s, ${subscriptions(count)}`,
  );
  const { ids, paths } = await subscriptionsFor(session, `delivery-live-${count}`, count, {
    types: [LIVE_TYPE],
    state: 'active',
  });
  const acceptedBefore = await acceptedBy(ingest);
  await closedLoad(ingest.url('/webhook'), connections, plan.e2eSeconds);
  const loadEndMs = Date.now();
  const atEnd = await arrivalsAt(session.receiver, paths);
  const accepted = (await settledAccepted(ingest)) - acceptedBefore;
  const stored = await waitForRows(env.db, LIVE_TYPE, accepted, 60_000);
  const arrived = await waitForArrivals(session.receiver, paths, stored, 120_000);
  const recorded = await waitForDelivered(env.db, ids, stored * count, 30_000);
  const during = await storedBetween(session, LIVE_TYPE, loadEndMs);
  const firstArrivalMs = atEnd.firstAtMs === 0 ? loadEndMs : atEnd.firstAtMs;
  // Labelled and unsubscribed, so the next run's events are neither counted nor delivered here.
  await retype(env.db, `delivery-live-${count}`);
  await unsubscribe(env.db, ids);
  const loadSeconds = (from: number) => Math.max(0.001, (loadEndMs - from) / 1000);
  return {
    subscriptions: count,
    connections,
    accepted,
    stored,
    storedPerSecond: Math.round(during.count / loadSeconds(during.firstMs)),
    deliveriesPerSecond: Math.round(atEnd.unique / loadSeconds(firstArrivalMs)),
    eventsPerSecond: Math.round(atEnd.unique / count / loadSeconds(firstArrivalMs)),
    behindAtEnd: Math.max(0, during.count * count - atEnd.unique),
    catchUpSeconds: Math.max(0, Math.round((arrived.lastAtMs - loadEndMs) / 100) / 10),
    arrived: arrived.unique,
    recorded,
  };
}

/**
 * The latency run again, while a new subscription is backfilled with the one-subscription
 * drain's events (every event stored before it existed: `plan.deliveryEvents`), as
 * `POST /subscriptions/:id/backfill` does it, and sent at full speed beside the live ones.
 */
async function latencyBesideBackfill(
  session: Session,
  ingest: Service,
  ratePerSecond: number,
  limitPerSecond: number,
): Promise<DeliveryBesideBackfill> {
  const { env, log } = session.context;
  await vacuumDeliveryTables(env.db);
  const type = 'delivery-drain-1';
  const { ids, paths } = await subscriptionsFor(session, 'delivery-backfill', 1, {
    types: [type],
    state: 'active',
  });
  const subscriptionId = ids[0] as string;
  log(`delivery backfill: ${type} events to a new subscription, beside the latency run`);
  const backfill = (async () => {
    const startedAt = Date.now();
    const result = await new DeliveriesRepository(env.db).backfill(
      subscriptionId,
      { from: '1970-01-01T00:00:00Z', to: new Date(Date.now() + 60_000).toISOString() },
      { dryRun: false },
    );
    return { queued: result.queued, seconds: (Date.now() - startedAt) / 1000 };
  })();
  const latency = await latencyAt(session, ingest, ratePerSecond, limitPerSecond);
  const made = await backfill;
  const duringLive = await arrivalsAt(session.receiver, paths);
  await waitForArrivals(session.receiver, paths, made.queued, 120_000);
  await unsubscribe(env.db, ids);
  return {
    latency,
    backfilled: made.queued,
    backfillSeconds: Math.round(made.seconds * 100) / 100,
    backfillArrivedDuringLive: duringLive.unique,
  };
}

/**
 * One subscription, events through the ingest API at `ratePerSecond` (open loop): stored →
 * delivered from each row's `created_at` to its arrival at the receiver. `limitPerSecond` is
 * the store-and-deliver limit the rate is half of, for the report.
 */
async function latencyAt(
  session: Session,
  ingest: Service,
  ratePerSecond: number,
  limitPerSecond: number,
): Promise<DeliveryLatency> {
  const { env, plan, log } = session.context;
  const seconds = plan.deliveryLatencySeconds;
  const warmupSeconds = plan.warmupSeconds;
  log(
    `delivery latency: ${ratePerSecond}/s through the ingest API for ${seconds} s, one subscription`,
  );
  const { ids, paths } = await subscriptionsFor(session, 'delivery-latency', 1, {
    types: [LIVE_TYPE],
    state: 'active',
  });
  const path = paths[0] ?? '';
  const acceptedBefore = await acceptedBy(ingest);
  const load = await fixedRateLoad(ingest.url('/webhook'), ratePerSecond, seconds, warmupSeconds);
  const accepted = (await settledAccepted(ingest)) - acceptedBefore;
  const stored = await waitForRows(env.db, LIVE_TYPE, accepted, 60_000);
  const arrived = await waitForArrivals(session.receiver, paths, stored, 60_000);
  const recorded = await waitForDelivered(env.db, ids, stored, 30_000);
  const arrivals = await session.receiver.arrivals(path);
  const all = await storedToDelivered(env.db, arrivals);
  const steady = await storedToDelivered(env.db, arrivals, load.startedAtMs + warmupSeconds * 1000);
  await retype(env.db, 'delivery-latency');
  await unsubscribe(env.db, ids);
  return {
    ratePerSecond,
    limitPerSecond,
    seconds,
    warmupSeconds,
    load: { achievedPerSecond: load.achievedPerSecond, failed: load.failed, steady: load.steady },
    accepted,
    stored,
    arrived: arrived.unique,
    recorded,
    storedToDelivered: all,
    steadyStoredToDelivered: steady,
  };
}

/**
 * What the pipeline can take through the API and deliver at once, events/s: each event is
 * stored (at most `endToEndPerSecond`) and sent (at most `drainPerSecond`) on the same machine,
 * so the two limits compose like 1 / (1/a + 1/b).
 */
export function storeAndDeliverLimit(endToEndPerSecond: number, drainPerSecond: number): number {
  if (endToEndPerSecond <= 0 || drainPerSecond <= 0) return 0;
  return 1 / (1 / endToEndPerSecond + 1 / drainPerSecond);
}

/**
 * Deliveries to a fast receiver on loopback (bench/delivery-receiver.ts): a backlog drained by
 * the consumer alone with one subscription and with three (the figure the targets are about),
 * deliveries beside the live end-to-end load, then stored → delivered latency at half of
 * what the pipeline can store and deliver at once (`storeAndDeliverLimit` of the run's
 * end-to-end rate and one-subscription drain). Every delivery must arrive; one in
 * `VERIFY_EVERY` is verified.
 */
export const deliveryPhase = async (
  context: PhaseContext,
  measured: { endToEndPerSecond: number },
): Promise<DeliveryResult> => {
  const { env, log } = context;
  const secret = benchSecret();
  const receiver = await startDeliveryReceiver({ secret, verifyEvery: VERIFY_EVERY });
  const topology = env.freshTopology('delivery');
  let consumer: Service | undefined;
  let ingest: Service | undefined;
  try {
    consumer = await env.startConsumer(topology);
    const session: Session = { context, receiver, secret, consumer, paths: [] };
    const autovacuum = await autovacuumIsOn(env.db);
    if (!autovacuum) {
      log('delivery: autovacuum is off on this database; each delivery run starts after a VACUUM');
    }
    const drain = [await drainBacklog(session, 1), await drainBacklog(session, 3)];
    const orderedDrain = await drainBacklog(session, 1, ORDERED_DRAIN_KEYS);
    ingest = await env.startIngest(topology);
    const live = [await liveBeside(session, ingest, 1), await liveBeside(session, ingest, 3)];
    const limit = storeAndDeliverLimit(
      measured.endToEndPerSecond,
      drain[0]?.deliveriesPerSecond ?? 0,
    );
    const halfRate = Math.max(1, Math.round(limit / 2));
    await vacuumDeliveryTables(env.db);
    const latency = await latencyAt(session, ingest, halfRate, Math.round(limit));
    const besideBackfill = await latencyBesideBackfill(
      session,
      ingest,
      halfRate,
      Math.round(limit),
    );
    const signatures = await arrivalsAt(receiver, session.paths);
    receiver.running.assertRunning();
    return {
      maxInFlight: BENCH_MAX_IN_FLIGHT,
      autovacuum,
      verifyEvery: VERIFY_EVERY,
      verified: signatures.verified,
      notVerified: signatures.notVerified,
      drain,
      orderedDrain,
      live,
      latency,
      besideBackfill,
    };
  } finally {
    await env.stopServices('delivery', {
      ...(ingest ? { ingest } : {}),
      ...(consumer ? { consumer } : {}),
    });
    await receiver.running.stop();
  }
};
