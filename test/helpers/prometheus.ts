/**
 * The value of one sample in Prometheus text format, e.g.
 * `metricValue(text, 'webhooks_rejected_total', { reason: 'invalid_payload' })`; 0 when absent.
 * Labels not named are not compared, so a partial set matches the first sample that fits.
 */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const sampleLabels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => sampleLabels[key] === value)) {
      return Number(match[3]);
    }
  }
  return 0;
}
