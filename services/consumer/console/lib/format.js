// How values from the API are shown.
import { h } from './dom.js';

/** An ISO time in the reader's locale, the exact value on hover; a dash when there is none. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, date.toLocaleString());
}

export function ageText(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

/** A duration in seconds, in milliseconds below one second. */
export function durationText(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

export function numberOrUnknown(value) {
  return value === null || value === undefined ? 'unknown' : value.toLocaleString();
}

/** A status word (`dead`, `stored`, `open`…), styled by its own name. */
export function badge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

/** A setting in milliseconds in its largest whole unit: "30 s", "2 min", "6 h", "1.5 s". */
export function millisecondsText(ms) {
  for (const [size, unit] of [
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ]) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
