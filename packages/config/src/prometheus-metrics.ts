import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  Registry,
} from 'prom-client';

/** A metric as `/metrics` shows it: name, help line and label names. */
export interface MetricDefinition<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** The registry of one service's metrics, with the default process metrics (CPU, memory…). */
export function serviceRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** A counter on `registry` only, never on prom-client's global one. */
export function counter<L extends string = string>(
  registry: Registry,
  definition: MetricDefinition<L>,
): Counter<L> {
  return new Counter({ ...definition, registers: [registry] });
}

/** A histogram on `registry` only, with its buckets. */
export function histogram<L extends string = string>(
  registry: Registry,
  definition: MetricDefinition<L> & { buckets: number[] },
): Histogram<L> {
  return new Histogram({ ...definition, registers: [registry] });
}

/** A gauge on `registry` only; `collect` sets it at scrape time. */
export function gauge<L extends string = string>(
  registry: Registry,
  definition: MetricDefinition<L> & Pick<GaugeConfiguration<L>, 'collect'>,
): Gauge<L> {
  return new Gauge({ ...definition, registers: [registry] });
}
