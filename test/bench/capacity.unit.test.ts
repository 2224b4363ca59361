import { describe, expect, it } from 'vitest';
import { capacityChecks, checkColdStart, cpuChecks } from '../../bench/checks.js';
import {
  bestEndToEnd,
  composedLimit,
  cpuMicrosPer,
  fixedRateFor,
  ingestCpuBudget,
  scaledPlan,
} from '../../bench/lib/capacity.js';
import { FailureLog, failureReason } from '../../bench/lib/failures.js';
import { parseFlags, planFor } from '../../bench/lib/flags.js';
import { runOpenLoop } from '../../bench/lib/open-loop.js';
import { capacityOf } from '../../bench/modes.js';
import { capacityLines, failureLines, ingestBudgetLines, renderSoak } from '../../bench/report.js';
import type {
  BenchResult,
  ColdStartResult,
  EndToEnd,
  FixedRate,
  SoakResult,
} from '../../bench/types.js';

// Performance as ratios of what the same run measured: the fixed rate is half of end to end,
// end to end is judged against the composed limit of the three limits, CPU per request against
// the bare server's, and failed requests are reported by what they were.
const level = (connections: number, persistedPerSecond: number): EndToEnd => ({
  connections,
  load: {
    requestsPerSecond: persistedPerSecond,
    total: 0,
    ok: 0,
    non2xx: 0,
    errors: 0,
    latencyP50Ms: 1,
    latencyP99Ms: 2,
  },
  accepted: 0,
  stored: 0,
  persistedPerSecond,
  storedP50Ms: 1,
  storedP99Ms: 2,
});

describe('bench: capacity', () => {
  it('composes the three limits as times that add: 1 / (1/a + 1/b + 1/c)', () => {
    expect(
      composedLimit({ bareHttpPerSecond: 30_000, brokerPerSecond: 15_000, drainPerSecond: 10_000 }),
    ).toBeCloseTo(5000, 6);
    expect(
      composedLimit({ bareHttpPerSecond: 30_000, brokerPerSecond: 0, drainPerSecond: 10_000 }),
    ).toBe(0);
  });

  it('takes the best level of the end-to-end curve, not the last', () => {
    expect(bestEndToEnd([level(64, 4000), level(128, 4600), level(256, 4400)]).connections).toBe(
      128,
    );
    expect(() => bestEndToEnd([])).toThrow();
  });

  it('runs the fixed-rate phases at half of end to end unless --rate is given', () => {
    expect(fixedRateFor({ given: undefined, endToEndPerSecond: 4601 })).toBe(2301);
    expect(fixedRateFor({ given: 2000, endToEndPerSecond: 4601 })).toBe(2000);
    expect(fixedRateFor({ given: undefined, endToEndPerSecond: 0 })).toBe(1);
  });

  it('states the composed limit and end to end as a share of it, from the same run', () => {
    const capacity = capacityOf({
      ceiling: { requestsPerSecond: 30_000 } as BenchResult['ceiling'],
      brokerCeiling: { publishesPerSecond: 15_000 } as BenchResult['brokerCeiling'],
      drain: { messages: 1, stored: 1, rowsPerSecond: 10_000 },
      best: level(128, 4500),
    });
    expect(capacity).toMatchObject({
      composedLimitPerSecond: 5000,
      endToEndPerSecond: 4500,
      endToEndConnections: 128,
    });
    expect(capacity.endToEndShare).toBeCloseTo(0.9, 6);
    const lines = capacityLines({
      capacity,
      cpuPerRequest: { ingestMicros: 120, bareHttpMicros: 50 },
      drain: { messages: 1, stored: 1, rowsPerSecond: 10_000, consumerCpuMicros: 40 },
      fixedRatePerSecond: 2250,
      plan: {} as BenchResult['plan'],
    }).join('\n');
    expect(lines).toContain(
      'composed limit 1 / (1/bare HTTP + 1/broker ceiling + 1/drain) = 5,000/s',
    );
    expect(lines).toContain('4,500 stored/s = 0.90 × the composed limit');
    expect(lines).toContain('2,250/s, half of end to end');
    expect(lines).toContain('ingest API 120 µs per accepted request (2.40 × bare)');
    expect(lines).toContain('40 µs per stored event');
    expect(lines).not.toContain("at the ingest's rate");
    const withRate = capacityLines({
      capacity,
      cpuPerRequest: { ingestMicros: 120, bareHttpMicros: 50, bareHttpAtIngestRateMicros: 80 },
      drain: { messages: 1, stored: 1, rowsPerSecond: 10_000 },
      plan: {} as BenchResult['plan'],
    }).join('\n');
    expect(withRate).toContain(
      "held to the ingest's rate on the same connections, the bare server spent 80 µs (ingest 1.50 × that)",
    );
  });

  it('passes end to end at 0.85 × the composed limit, gates --quick only on a far lower floor', () => {
    const at = (endToEndShare: number) =>
      capacityChecks({
        capacity: {
          bareHttpPerSecond: 1,
          brokerPerSecond: 1,
          drainPerSecond: 1,
          composedLimitPerSecond: 5000,
          endToEndPerSecond: 0,
          endToEndConnections: 128,
          endToEndShare,
        },
      });
    expect(at(0.86).every((c) => c.pass)).toBe(true);
    const short = at(0.5);
    expect(short.find((c) => c.name.includes('0.85'))).toMatchObject({ pass: false, gate: false });
    expect(short.find((c) => c.gate)?.pass).toBe(true);
    expect(at(0.09).find((c) => c.gate)?.pass).toBe(false);
    expect(capacityChecks({ capacity: undefined })).toEqual([]);
  });

  it('targets the ingest CPU per request at 2.5 × the bare server, not gated', () => {
    const check = (ingestMicros: number) =>
      cpuChecks({ cpuPerRequest: { ingestMicros, bareHttpMicros: 40 } })[0];
    expect(check(100)).toMatchObject({ pass: true, gate: false });
    expect(check(101)).toMatchObject({ pass: false, gate: false });
    expect(cpuChecks({ cpuPerRequest: { ingestMicros: 1, bareHttpMicros: undefined } })).toEqual(
      [],
    );
  });

  it("says whether the ingest target fits the cores at the ingest phase's cost per request", () => {
    // 10 s, 40,000 accepted: each 1 % of a core is 2.5 µs per request.
    const cpu = {
      seconds: 10,
      busyPercent: 150,
      rabbitmqPercent: 30,
      postgresPercent: 0,
      processes: { server: 80 },
    };
    const budget = ingestCpuBudget({ cpu, accepted: 40_000, targetPerSecond: 6000, cores: 2 });
    expect(budget).toMatchObject({ apiMicros: 200, rabbitmqMicros: 75, restMicros: 100 });
    // 6,000/s × 375 µs = 225 % of one core; 200 % leaves 333 − 175 µs for the API.
    expect(budget?.neededPercent).toBeCloseTo(225, 6);
    expect(budget?.apiMicrosThatFit).toBeCloseTo(2e6 / 6000 - 175, 6);
    expect(ingestCpuBudget({ cpu: undefined, accepted: 1, targetPerSecond: 1, cores: 2 })).toBe(
      undefined,
    );

    const result = (publishesPerSecond: number) =>
      ({
        ingest: { cpu, accepted: 40_000 },
        brokerCeiling: { publishesPerSecond },
        machine: { cpus: 2 },
        cpuPerRequest: { bareHttpMicros: 50 },
      }) as unknown as BenchResult;
    // 0.6 × 10,000 = 6,000/s: beyond the two cores.
    const beyond = ingestBudgetLines(result(10_000)).join('\n');
    expect(beyond).toContain('(6,000/s) would take 225 % CPU');
    expect(beyond).toContain('API 200 µs, RabbitMQ 75 µs, the rest of the machine 100 µs');
    expect(beyond).toContain(
      "the API would have to spend at most 158 µs on a request (3.17 × the bare server's)",
    );
    // 0.6 × 5,000 = 3,000/s: 112.5 % of the machine, the API 60 % of its core.
    expect(ingestBudgetLines(result(5000)).join('\n')).toContain(
      "within the machine's 200 % (the API 60 % of one core)",
    );
    // 0.6 × 8,000 = 4,800/s: 180 % of the machine, the API 96 % of its one core.
    expect(ingestBudgetLines(result(8000)).join('\n')).toContain('(the API 96 % of one core)');
    // 0.6 × 9,000 = 5,400/s on four cores: 202.5 % fits, but the API alone needs 108 % of one.
    const oneCore = ingestBudgetLines({
      ...result(9000),
      machine: { cpus: 4 },
    } as unknown as BenchResult).join('\n');
    expect(oneCore).toContain('but the API (one process) would need 108 % of one core');
  });

  it('shrinks the phases sized by a count on a slower machine, never beyond the plan', () => {
    const plan = planFor(parseFlags([]));
    // Fast enough: the planned counts.
    expect(scaledPlan(plan, 6000)).toMatchObject({
      drainMessages: 100_000,
      deliveryEvents: 30_000,
    });
    // A machine storing 1,000/s: 20 s of drain and 6 s of each delivery backlog.
    expect(scaledPlan(plan, 1000)).toMatchObject({ drainMessages: 20_000, deliveryEvents: 6000 });
    // Never below a floor that still measures something; durations untouched.
    expect(scaledPlan(plan, 10)).toMatchObject({
      drainMessages: 10_000,
      deliveryEvents: 2000,
      fixedSeconds: plan.fixedSeconds,
      e2eSeconds: plan.e2eSeconds,
    });
    expect(scaledPlan(plan, 0)).toEqual(plan);
  });

  it('turns a share of one core over a phase into µs per operation', () => {
    // 150 % of one core for 10 s is 15 CPU seconds; over 30,000 requests, 500 µs each.
    expect(cpuMicrosPer({ percent: 150, seconds: 10, count: 30_000 })).toBe(500);
    expect(cpuMicrosPer({ percent: undefined, seconds: 10, count: 1 })).toBeUndefined();
    expect(cpuMicrosPer({ percent: 100, seconds: 10, count: 0 })).toBeUndefined();
  });

  it('holds a cold start to 3 × the warm run’s p99', () => {
    const result = (first: number, warm: number): ColdStartResult => ({
      startedAt: '',
      queueType: 'classic',
      ratePerSecond: 100,
      runs: [
        { run: 1, failed: 0, p99Ms: first, perSecond: [] },
        { run: 2, failed: 0, p99Ms: warm, perSecond: [] },
        { run: 3, failed: 0, p99Ms: warm, perSecond: [] },
      ],
    });
    expect(checkColdStart(result(6, 2))[0]?.pass).toBe(true);
    expect(checkColdStart(result(6.1, 2))[0]?.pass).toBe(false);
  });
});

describe('bench: failed requests', () => {
  it('names a failure by its status, or by the error when no answer came', () => {
    expect(failureReason({ status: 503 })).toBe('status 503');
    expect(failureReason({ error: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })).toBe(
      'error ECONNRESET',
    );
    expect(failureReason({ error: new Error('publish timed out') })).toBe(
      'error publish timed out',
    );
  });

  it('says when a failed request went out on a kept-alive connection, and how long it had idled', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(failureReason({ error: reset, reusedIdleMs: 4970 })).toBe(
      'error ECONNRESET on a reused connection idle 4–5 s',
    );
    expect(failureReason({ error: reset, reusedIdleMs: 12 })).toBe(
      'error ECONNRESET on a reused connection idle 0–1 s',
    );
    expect(failureReason({ error: reset, reusedIdleMs: undefined })).toBe('error ECONNRESET');
  });

  it('groups failures by reason, most frequent first, with the seconds they fell in', () => {
    const log = new FailureLog();
    log.record('status 503', 4);
    log.record('error ECONNRESET', 0);
    log.record('status 503', 2);
    expect(log.groups()).toEqual([
      { reason: 'status 503', count: 2, firstSecond: 2, lastSecond: 4 },
      { reason: 'error ECONNRESET', count: 1, firstSecond: 0, lastSecond: 0 },
    ]);
  });

  it('the open-loop generator records what each failed send was, and the report lists them', async () => {
    let sent = 0;
    const load = await runOpenLoop({
      ratePerSecond: 100,
      seconds: 0.2,
      warmupSeconds: 0,
      send: async () => {
        sent += 1;
        if (sent % 5 === 0) return 'status 503';
        return sent === 1 ? 'error ECONNRESET' : undefined;
      },
    });
    expect(load.failed).toBe(5);
    expect(load.failures).toEqual([
      { reason: 'status 503', count: 4, firstSecond: 0, lastSecond: 0 },
      { reason: 'error ECONNRESET', count: 1, firstSecond: 0, lastSecond: 0 },
    ]);
    const lines = failureLines('Failed requests', { load } as FixedRate);
    expect(lines[0]).toBe(
      'Failed requests: 4 × status 503 (second 0); 1 × error ECONNRESET (second 0).',
    );
    const summary = { count: 10, failed: 0, p50Ms: 1, p99Ms: 2, p999Ms: 3, maxMs: 4 };
    const soak = renderSoak({
      startedAt: '',
      mode: 'soak',
      queueType: 'classic',
      serviceEnv: {},
      machine: { loadAverage: { start: 0, end: 0 } },
      ratePerSecond: 100,
      seconds: 1,
      accepted: 95,
      stored: 95,
      warmup: summary,
      steady: summary,
      failures: load.failures,
      perMinute: [],
      peakRssMb: { ingest: 1, consumer: 1 },
    } as unknown as SoakResult);
    expect(soak).toContain(
      'Failed requests: 4 × status 503 (second 0); 1 × error ECONNRESET (second 0).',
    );
  });
});
