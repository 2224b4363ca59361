// Stored events, newest first, by filter.
import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { filterForm } from '../lib/filters.js';
import { time } from '../lib/format.js';
import { pageQuery, pager, pageSummary } from '../lib/pager.js';
import { table } from '../lib/table.js';
import { say, show } from '../lib/view.js';

const EVENT_FILTERS = [
  { name: 'source', label: 'Source' },
  { name: 'type', label: 'Type' },
  { name: 'eventId', label: 'Event id' },
  { name: 'from', label: 'Stored from', time: true },
  { name: 'to', label: 'Stored before', time: true },
  {
    name: 'contains',
    label: 'Data contains (JSON)',
    placeholder: '{"order":{"id":42}}',
    wide: true,
  },
];

export async function eventsScreen(screen) {
  const { params } = screen;
  const names = EVENT_FILTERS.map((f) => f.name);
  const page = await api(`/events?${pageQuery(params, names)}`);
  const rows = page.items.map((e) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, h('a', { href: `#/events/${e.id}` }, e.eventId)),
      h('td', {}, e.source),
      h('td', {}, e.type),
      h('td', {}, time(e.createdAt)),
      h('td', { class: 'hide-narrow' }, time(e.timestamp)),
    ),
  );
  show(screen, 'Events', [
    h('h1', {}, 'Events'),
    filterForm('events', params, EVENT_FILTERS),
    table(
      'Stored events, newest first',
      ['Event id', 'Source', 'Type', 'Stored at', { label: 'Event time', class: 'hide-narrow' }],
      rows,
      'No stored event matches.',
    ),
    pager('events', params, page.nextCursor),
  ]);
  say(pageSummary(page, 'event'));
}
