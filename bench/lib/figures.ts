// How the report and the checks write a figure.

/** `value` with thousands separators and exactly `digits` decimals (`12,345.6`). */
export const n = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `n(value, digits)`, or a dash where the figure was not measured. */
export const opt = (value: number | undefined, digits = 1) =>
  value === undefined ? '—' : n(value, digits);

/** `1 subscription`, `3 subscriptions`. */
export const subscriptions = (count: number) =>
  `${n(count)} ${count === 1 ? 'subscription' : 'subscriptions'}`;
