import { describe, expect, it } from 'vitest';
import { checkDeliveryOutage, deliveryChecks } from '../../bench/checks.js';
import { leastSquaresSlope } from '../../bench/lib/least-squares.js';
import type {
  Check,
  DeliveryDrain,
  DeliveryOutageResult,
  DeliveryResult,
} from '../../bench/types.js';

// What the delivery phase and --delivery-outage pass or fail on: --quick is gated on every
// delivery arriving and a floor, the targets are ratios to the run's own end-to-end rate, and
// the outage on nothing lost and RSS flat.
const latency = { count: 100, p50Ms: 10, p99Ms: 40, maxMs: 50 };
const drain = (subscriptions: number, eventsPerSecond: number): DeliveryDrain => ({
  subscriptions,
  events: 1000,
  arrived: 1000 * subscriptions,
  recorded: 1000 * subscriptions,
  seconds: 1,
  deliveriesPerSecond: eventsPerSecond * subscriptions,
  eventsPerSecond,
  consumerCpuMicros: 100,
  postgresCpuMicros: 100,
  receiverCpuMicros: 50,
  cpu: undefined,
});
const delivery = (over: Partial<DeliveryResult> = {}): DeliveryResult => ({
  maxInFlight: 100,
  verifyEvery: 100,
  verified: 30,
  notVerified: 0,
  drain: [drain(1, 3000), drain(3, 2000)],
  live: [],
  latency: {
    ratePerSecond: 1500,
    limitPerSecond: 3000,
    seconds: 5,
    warmupSeconds: 1,
    load: { achievedPerSecond: 1500, failed: 0, steady: { ...latency, failed: 0, p999Ms: 60 } },
    accepted: 7500,
    stored: 7500,
    arrived: 7500,
    recorded: 7500,
    storedToDelivered: latency,
    steadyStoredToDelivered: latency,
  },
  ...over,
});
const failedGates = (checks: Check[]) => checks.filter((c) => c.gate && !c.pass).map((c) => c.name);
const failedTargets = (checks: Check[]) =>
  checks.filter((c) => !c.gate && !c.pass).map((c) => c.name);

describe('bench: delivery checks', () => {
  it('meets the targets as ratios to the end-to-end stored rate, per subscription', () => {
    const checks = deliveryChecks(delivery(), 5000);
    expect(failedGates(checks)).toEqual([]);
    expect(failedTargets(checks)).toEqual([]);
    // 3 subscriptions at 1,500 events/s each: 0.3 × 5,000, under 0.35 though 4,500 deliveries/s.
    const slow = deliveryChecks(delivery({ drain: [drain(1, 3000), drain(3, 1500)] }), 5000);
    expect(failedTargets(slow)).toEqual([
      expect.stringMatching(/^delivery drain, 3 subscriptions ≥ 0.35 ×/),
    ]);
    expect(failedGates(slow)).toEqual([]);
  });

  it('gates only loss, signatures and a floor far below the target', () => {
    expect(failedGates(deliveryChecks(delivery({ drain: [drain(1, 400)] }), 5000))).toEqual([
      expect.stringMatching(/regression floor/),
    ]);
    const lost = { ...drain(1, 3000), arrived: 999 };
    expect(failedGates(deliveryChecks(delivery({ drain: [lost] }), 5000))).toEqual([
      expect.stringMatching(/^delivery drain, 1 subscription: every delivery arrived/),
    ]);
    expect(failedGates(deliveryChecks(delivery({ notVerified: 1 }), 5000))).toEqual([
      expect.stringMatching(/^delivery signatures/),
    ]);
    const late = { ...latency, p99Ms: 500 };
    const slowLatency = deliveryChecks(
      delivery({ latency: { ...delivery().latency, storedToDelivered: late } }),
      5000,
    );
    expect(failedGates(slowLatency)).toEqual([]);
    expect(failedTargets(slowLatency)).toEqual([expect.stringMatching(/p99 ≤ 100 ms/)]);
  });

  it('reports the ordered drain against the unordered one of the run: a target at half, loss gated', () => {
    const ordered = (deliveriesPerSecond: number, arrived = 1000): DeliveryDrain => ({
      ...drain(1, deliveriesPerSecond),
      orderingKeys: 1000,
      arrived,
    });
    const fast = deliveryChecks(delivery({ orderedDrain: ordered(1600) }), 5000);
    expect(fast.map((c) => c.name)).toContainEqual(
      'delivery drain ordered per key ≥ 0.5 × unordered deliveries/s, 1 subscription (0.53)',
    );
    expect(failedTargets(fast)).toEqual([]);
    expect(failedGates(fast)).toEqual([]);
    const slow = deliveryChecks(delivery({ orderedDrain: ordered(1400) }), 5000);
    expect(failedTargets(slow)).toEqual([
      expect.stringMatching(/^delivery drain ordered per key ≥ 0.5/),
    ]);
    expect(failedGates(slow)).toEqual([]);
    const lost = deliveryChecks(delivery({ orderedDrain: ordered(1600, 999) }), 5000);
    expect(failedGates(lost)).toEqual([
      expect.stringMatching(/^delivery drain ordered per key, 1,000 keys: every delivery arrived/),
    ]);
  });
});

describe('bench: --delivery-outage checks', () => {
  const outage = (over: Partial<DeliveryOutageResult> = {}): DeliveryOutageResult => ({
    startedAt: '2026-01-01T00:00:00.000Z',
    mode: 'delivery-outage',
    queueType: 'classic',
    serviceEnv: {},
    machine: {
      cpus: 2,
      cpuModel: 'x',
      memoryGiB: 8,
      node: 'v20',
      loadAverage: { start: 1, end: 1 },
    },
    ratePerSecond: 500,
    seconds: 300,
    warmupSeconds: 60,
    maxInFlight: 100,
    accepted: 150_000,
    stored: 150_000,
    load: { achievedPerSecond: 500, failed: 0, steady: { ...latency, failed: 0, p999Ms: 60 } },
    up: { arrived: 150_000, recorded: 150_000, storedToDelivered: latency },
    down: { pending: 150_000, failed: 0, attempts: 400_000 },
    samples: [],
    startRssMb: 110,
    endRssMb: 112,
    maxRssMb: 115,
    slopeMbPerMinute: 0.5,
    ...over,
  });

  it('passes a flat RSS with nothing lost and the backlog in the table', () => {
    expect(failedGates(checkDeliveryOutage(outage()))).toEqual([]);
  });

  it('fails on growth, a steady slope, loss, or a backlog not in the table', () => {
    expect(failedGates(checkDeliveryOutage(outage({ endRssMb: 160 })))).toEqual([
      expect.stringMatching(/end − start < 50 MB/),
    ]);
    expect(failedGates(checkDeliveryOutage(outage({ slopeMbPerMinute: 8 })))).toEqual([
      expect.stringMatching(/no steady growth/),
    ]);
    expect(failedGates(checkDeliveryOutage(outage({ stored: 149_999 })))).toEqual([
      'every 200 is stored',
    ]);
    const upShort = { arrived: 150_000, recorded: 149_000, storedToDelivered: latency };
    expect(failedGates(checkDeliveryOutage(outage({ up: upShort })))).toEqual([
      expect.stringMatching(/destination that is up/),
    ]);
    const downLost = { pending: 100_000, failed: 0, attempts: 400_000 };
    expect(failedGates(checkDeliveryOutage(outage({ down: downLost })))).toEqual([
      expect.stringMatching(/wait in the table/),
    ]);
  });

  it('takes the slope in MB per minute by least squares', () => {
    const growing = [0, 1, 2, 3].map((minute) => ({ x: minute, y: 100 + 10 * minute }));
    expect(leastSquaresSlope(growing)).toBeCloseTo(10);
    expect(leastSquaresSlope([{ x: 0, y: 100 }])).toBe(0);
    const sawtooth = [100, 110, 100, 110, 100, 110].map((y, x) => ({ x, y }));
    expect(Math.abs(leastSquaresSlope(sawtooth))).toBeLessThan(2);
  });
});
