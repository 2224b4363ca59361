// The quarantine: provider requests the ingest API refused and kept, newest first, by filter.
import { h } from '../lib/dom.js';
import { badge, time } from '../lib/format.js';
import { fetchPage, showPage } from '../lib/list-screen.js';
import { REJECTION_REASONS } from '../reasons.js';

const REJECTED_FILTERS = [
  { name: 'source', label: 'Source' },
  { name: 'reason', label: 'Reason', options: REJECTION_REASONS },
  { name: 'from', label: 'Received from', time: true },
  { name: 'to', label: 'Received before', time: true },
];

function row(r) {
  return h(
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
  );
}

export async function rejectedListScreen(screen) {
  const page = await fetchPage(screen, 'rejected', REJECTED_FILTERS);
  showPage(screen, page, {
    section: 'rejected',
    title: 'Rejected requests',
    filters: REJECTED_FILTERS,
    noun: 'rejected request',
    caption: 'Rejected requests, newest first',
    headers: [
      'Received at',
      'Source',
      'Reason',
      'Admitted',
      { label: 'Bytes', class: 'num' },
      { label: 'Request id', class: 'hide-narrow' },
    ],
    rows: page.items.map(row),
    empty: 'No kept rejected request matches.',
    hint: 'Provider requests the ingest API refused with 401 (signature) or 404 (unknown source), kept for REJECTED_RETENTION_DAYS. Once the secret is fixed in WEBHOOK_SOURCES, pnpm rejected:replay verifies them again and admits those that now verify; open one for its command.',
  });
}
