// Stored events, newest first, by filter.
import { h } from '../lib/dom.js';
import { time } from '../lib/format.js';
import { fetchPage, showPage } from '../lib/list-screen.js';

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

function row(e) {
  return h(
    'tr',
    {},
    h('td', { class: 'mono' }, h('a', { href: `#/events/${e.id}` }, e.eventId)),
    h('td', {}, e.source),
    h('td', {}, e.type),
    h('td', {}, time(e.createdAt)),
    h('td', { class: 'hide-narrow' }, time(e.timestamp)),
  );
}

export async function eventsScreen(screen) {
  const page = await fetchPage(screen, 'events', EVENT_FILTERS);
  showPage(screen, page, {
    section: 'events',
    title: 'Events',
    filters: EVENT_FILTERS,
    noun: 'event',
    caption: 'Stored events, newest first',
    headers: [
      'Event id',
      'Source',
      'Type',
      'Stored at',
      { label: 'Event time', class: 'hide-narrow' },
    ],
    rows: page.items.map(row),
    empty: 'No stored event matches.',
  });
}
