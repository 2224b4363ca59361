import { h } from './dom.js';

/** One record's `[label, value]` pairs as a definition list; a dash for a missing value. */
export function fields(entries) {
  return h(
    'dl',
    { class: 'fields' },
    entries.flatMap(([label, value]) => [
      h('dt', {}, label),
      h('dd', {}, value ?? h('span', { class: 'muted' }, '—')),
    ]),
  );
}
