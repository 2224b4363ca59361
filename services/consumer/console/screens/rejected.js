// The quarantine: provider requests the ingest API refused and kept, newest first, by filter.
import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { filterForm } from '../lib/filters.js';
import { badge, time } from '../lib/format.js';
import { pageQuery, pager, pageSummary } from '../lib/pager.js';
import { table } from '../lib/table.js';
import { say, show } from '../lib/view.js';
import { REJECTION_REASONS } from '../reasons.js';

const REJECTED_FILTERS = [
  { name: 'source', label: 'Source' },
  { name: 'reason', label: 'Reason', options: REJECTION_REASONS },
  { name: 'from', label: 'Received from', time: true },
  { name: 'to', label: 'Received before', time: true },
];

export async function rejectedListScreen(screen) {
  const { params } = screen;
  const names = REJECTED_FILTERS.map((f) => f.name);
  const page = await api(`/rejected?${pageQuery(params, names)}`);
  const rows = page.items.map((r) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        h(
          'a',
          {
            href: `#/rejected/${r.id}`,
            'aria-label': `Rejected request from ${r.source} at ${r.receivedAt}`,
          },
          time(r.receivedAt),
        ),
      ),
      h('td', {}, r.source),
      h('td', {}, r.reason),
      h('td', {}, r.admittedAt ? badge('admitted') : badge('refused')),
      h('td', { class: 'num' }, r.bodyBytes.toLocaleString()),
      h('td', { class: 'hide-narrow mono' }, r.requestId ?? '—'),
    ),
  );
  show(screen, 'Rejected requests', [
    h('h1', {}, 'Rejected requests'),
    filterForm('rejected', params, REJECTED_FILTERS),
    table(
      'Rejected requests, newest first',
      [
        'Received at',
        'Source',
        'Reason',
        'Admitted',
        { label: 'Bytes', class: 'num' },
        { label: 'Request id', class: 'hide-narrow' },
      ],
      rows,
      'No kept rejected request matches.',
    ),
    pager('rejected', params, page.nextCursor),
    h(
      'p',
      { class: 'hint' },
      'Provider requests the ingest API refused with 401 (signature) or 404 (unknown source), kept for REJECTED_RETENTION_DAYS. Once the secret is fixed in WEBHOOK_SOURCES, pnpm rejected:replay verifies them again and admits those that now verify; open one for its command.',
    ),
  ]);
  say(pageSummary(page, 'rejected request'));
}
