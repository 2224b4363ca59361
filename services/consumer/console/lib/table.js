import { h } from './dom.js';

/**
 * A table of `rows` (tr elements) under `headers` (labels, or `{ label, class }`), with a
 * caption for screen readers; `emptyText` instead when there is no row.
 */
export function table(caption, headers, rows, emptyText) {
  if (rows.length === 0) return h('p', { class: 'muted' }, emptyText);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((header) =>
            h('th', { scope: 'col', class: header.class }, header.label ?? header),
          ),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}
