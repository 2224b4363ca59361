export interface ClosedLoad {
  requestsPerSecond: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export interface FixedRateLoad {
  requested: number;
  ok: number;
  failed: number;
  achievedPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
}

export interface BenchResult {
  startedAt: string;
  mode: 'quick' | 'full';
  queueType: 'classic' | 'quorum';
  /** RabbitMQ nodes the services were given (3 for `--cluster`). */
  brokerNodes: number;
  /** Settings added to both services' defaults for this run. */
  serviceEnv: Record<string, string>;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string };
  plan: Record<string, number>;
  ceiling: ClosedLoad;
  /**
   * `accepted`: 200s counted by the API itself (the load generator's `ok` misses requests still
   * in flight when its window closes); `queued`: messages in the queue afterwards.
   */
  ingest: ClosedLoad & { accepted: number; queued: number };
  endToEnd: {
    load: ClosedLoad;
    accepted: number;
    stored: number;
    persistedPerSecond: number;
    storedP50Ms: number;
    storedP99Ms: number;
  };
  drain: { messages: number; stored: number; rowsPerSecond: number };
  fixedRate: {
    load: FixedRateLoad;
    accepted: number;
    stored: number;
    storedP50Ms: number;
    storedP99Ms: number;
  };
  peakRssMb: { ingest: number; consumer: number };
}

export interface Check {
  name: string;
  pass: boolean;
  /** Gates `--quick` (ratios and loss); absolute targets are reported, not gated. */
  gate: boolean;
}
