// One subscription: its health, its settings, and its deliveries by filter; replay the failed.
import { api } from '../lib/api.js';
import { card } from '../lib/card.js';
import { h } from '../lib/dom.js';
import { fields } from '../lib/fields.js';
import { filterForm } from '../lib/filters.js';
import { badge, millisecondsText, time } from '../lib/format.js';
import { pageQuery, pager, pageSummary } from '../lib/pager.js';
import { replayPanel } from '../lib/replay.js';
import { table } from '../lib/table.js';
import { noticeBox, say, show } from '../lib/view.js';
import { replayDeliveries } from './delivery-replay.js';
import { backfillForm, pauseButton, stateOf, testEventControl } from './subscription-controls.js';
import { filterText, orderingText } from './subscriptions.js';

const DELIVERY_FILTERS = [
  { name: 'status', label: 'Status', options: ['pending', 'delivered', 'failed'] },
  { name: 'eventId', label: 'Event id' },
  { name: 'from', label: 'Stored from', time: true },
  { name: 'to', label: 'Stored before', time: true },
];

function healthCards({ health }) {
  const last = health.lastError;
  return h(
    'div',
    { class: 'cards' },
    card('Delivered', health.deliveredLastHour.toLocaleString(), 'in the last hour'),
    card(
      'Failed',
      health.failed.toLocaleString(),
      `retries exhausted; ${health.failedLastHour.toLocaleString()} in the last hour`,
    ),
    card('Pending', health.pending.toLocaleString(), 'waiting to be sent or retried'),
    card('Last error', last ? last.error : 'none', last ? time(last.at) : 'no failed attempt', {
      long: true,
    }),
  );
}

function settings(s) {
  return fields([
    ['URL', h('span', { class: 'mono' }, s.url)],
    ['Events', filterText(s.filter)],
    ['Order', h('span', { class: s.ordering ? 'mono' : undefined }, orderingText(s.ordering))],
    ['State', stateOf(s)],
    [
      'Retries after',
      s.retryDelaysMs.length > 0
        ? `${s.retryDelaysMs.map(millisecondsText).join(', ')}; then failed`
        : 'none: failed after the first attempt',
    ],
    ['Timeout', millisecondsText(s.timeoutMs)],
    ['At most in flight', String(s.maxInFlight)],
    ['Rate limit', s.rateLimitPerSecond === null ? 'none' : `${s.rateLimitPerSecond} per second`],
    [
      'Secret',
      s.previousSecretExpiresAt
        ? h(
            'span',
            {},
            'rotated; the previous one also signs until ',
            time(s.previousSecretExpiresAt),
          )
        : 'shown once, when set',
    ],
    ['Created at', time(s.createdAt)],
    ['Updated at', time(s.updatedAt)],
    ['Id', h('span', { class: 'mono' }, s.id)],
  ]);
}

function row(d) {
  return h(
    'tr',
    {},
    h('td', { class: 'mono' }, h('a', { href: `#/deliveries/${d.id}` }, d.eventId)),
    h('td', {}, d.type),
    h('td', {}, badge(d.status)),
    h('td', { class: 'num' }, String(d.attempts)),
    h('td', { class: 'hide-narrow' }, time(d.storedAt)),
    h('td', { class: 'hide-narrow' }, time(d.lastAttemptAt)),
    h('td', { class: 'hide-narrow' }, time(d.nextAttemptAt)),
    h(
      'td',
      { class: 'hide-narrow' },
      d.lastError && d.lastError.length > 90 ? `${d.lastError.slice(0, 90)}…` : d.lastError,
    ),
  );
}

export async function subscriptionScreen(screen) {
  const { params } = screen;
  const id = encodeURIComponent(screen.rowId);
  const names = DELIVERY_FILTERS.map((f) => f.name);
  const [s, page] = await Promise.all([
    api(`/subscriptions/${id}`),
    api(`/subscriptions/${id}/deliveries?${pageQuery(params, names)}`),
  ]);
  const section = `subscriptions/${s.id}`;

  // Replay the failed ones among those the other filters select, whatever status is shown.
  const filter = {};
  for (const name of names)
    if (name !== 'status' && params.get(name)) filter[name] = params.get(name);
  const filtered = Object.keys(filter).length > 0;
  // Afterwards every status is shown, so the replayed ones appear, pending.
  const after = new URLSearchParams(filter);
  const panel = replayPanel();
  const replayFailed = h(
    'button',
    {
      type: 'button',
      onclick: () =>
        replayDeliveries({
          panel,
          selection: { subscriptionId: s.id, status: 'failed', ...filter },
          describe: filtered ? 'the failed ones matching the filter' : 'every failed one',
          nothing: filtered
            ? 'Nothing to replay: no failed delivery matches the filter.'
            : 'Nothing to replay: no delivery of this subscription has failed.',
          confirmLabel: (count) => `Replay ${count}`,
          open: screen.open,
          hash: `#/${section}${filtered ? `?${after}` : ''}`,
        }).catch(screen.fail),
    },
    filtered ? 'Replay failed deliveries matching the filter…' : 'Replay failed deliveries…',
  );

  const test = testEventControl(s, { fail: screen.fail });
  const controls = h('section', { 'aria-labelledby': 'controls-title' }, [
    h('h2', { id: 'controls-title' }, 'Controls'),
    h(
      'div',
      { class: 'toolbar' },
      pauseButton(s, { done: (text) => screen.open(`#/${section}`, text), fail: screen.fail }),
      test.button,
    ),
    test.panel,
    backfillForm(s, { open: screen.open, hash: `#/${section}`, fail: screen.fail }),
  ]);

  const notice = noticeBox(screen.notice);
  const shown = show(screen, `Subscription ${s.name}`, [
    h('p', {}, h('a', { href: '#/subscriptions' }, '← Subscriptions')),
    h('h1', {}, 'Subscription ', s.name),
    notice,
    h('section', { 'aria-labelledby': 'health-title' }, [
      h('h2', { id: 'health-title' }, 'Health'),
      healthCards(s),
    ]),
    controls,
    h('h2', {}, 'Settings'),
    settings(s),
    h('h2', { id: 'deliveries-title' }, 'Deliveries'),
    filterForm(section, params, DELIVERY_FILTERS),
    h('div', { class: 'toolbar' }, replayFailed),
    panel,
    table(
      'Deliveries, newest stored event first',
      [
        'Event id',
        'Type',
        'Status',
        { label: 'Attempts', class: 'num' },
        { label: 'Stored at', class: 'hide-narrow' },
        { label: 'Last attempt', class: 'hide-narrow' },
        { label: 'Next attempt', class: 'hide-narrow' },
        { label: 'Last error', class: 'hide-narrow' },
      ],
      page.items.map(row),
      'No delivery matches.',
    ),
    pager(section, params, page.nextCursor),
    h(
      'p',
      { class: 'hint' },
      'Each stored event that matches the filter is delivered once per subscription; every attempt carries the same webhook-id, so the receiver can drop a duplicate. A replay makes deliveries pending again, due now, at the start of the retry schedule.',
    ),
  ]);
  if (!shown) return;
  if (notice) {
    say(screen.notice);
    notice.focus();
  } else {
    say(pageSummary(page, 'delivery', 'deliveries'));
  }
}
