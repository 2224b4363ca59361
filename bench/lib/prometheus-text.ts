/**
 * Just enough of the Prometheus text format to read the services' own `/metrics` during a
 * run: samples by name and labels, and quantiles from the difference of two histogram scrapes
 * (what `histogram_quantile(rate(...))` does in Prometheus).
 */
export type Scrape = Map<string, number>;

/** `name{a="x",b="y"} 1.5` → key `name{a="x",b="y"}`, value 1.5. Comments and blanks skipped. */
export function parsePrometheusText(text: string): Scrape {
  const samples: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isNaN(value)) samples.set(line.slice(0, space), value);
  }
  return samples;
}

/** A sample by name and labels; labels are matched in the order the service writes them. */
export function sample(scrape: Scrape, name: string, labels = ''): number | undefined {
  return scrape.get(labels === '' ? name : `${name}{${labels}}`);
}

/** Sum of every sample of `name` whose labels contain `labelFilter` (all of them when empty). */
export function sumOf(scrape: Scrape, name: string, labelFilter = ''): number {
  let total = 0;
  for (const [key, value] of scrape) {
    const bare = key.split('{', 1)[0];
    if (bare === name && key.includes(labelFilter)) total += value;
  }
  return total;
}

export interface Bucket {
  /** Upper bound, seconds (`Infinity` for `+Inf`). */
  le: number;
  /** Cumulative count of observations at or below `le`. */
  count: number;
}

/** Cumulative buckets of histogram `name` whose labels contain `labelFilter`, summed. */
export function bucketsOf(scrape: Scrape, name: string, labelFilter = ''): Bucket[] {
  const byLe = new Map<number, number>();
  for (const [key, value] of scrape) {
    if (!key.startsWith(`${name}_bucket{`) || !key.includes(labelFilter)) continue;
    const le = /le="([^"]+)"/.exec(key)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** Observations made between two scrapes, bucket by bucket. */
export function bucketDelta(before: Bucket[], after: Bucket[]): Bucket[] {
  const earlier = new Map(before.map((b) => [b.le, b.count]));
  return after.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) }));
}

/**
 * The q-quantile of cumulative buckets, interpolating linearly inside the bucket it falls in
 * (as Prometheus does). Past the last finite bound it answers that bound: the histogram cannot
 * say more. Undefined when the buckets hold no observation.
 */
export function quantileOf(buckets: Bucket[], q: number): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
