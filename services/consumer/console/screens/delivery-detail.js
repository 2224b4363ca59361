// One delivery of a stored event to a subscription: where it stands, every attempt with the
// start of its answer; send it again.
import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { fields } from '../lib/fields.js';
import { badge, time } from '../lib/format.js';
import { replayPanel } from '../lib/replay.js';
import { table } from '../lib/table.js';
import { noticeBox, say, show } from '../lib/view.js';
import { replayDeliveries } from './delivery-replay.js';

function status(d) {
  if (d.status === 'pending') {
    return h('span', {}, badge(d.status), ' next attempt ', time(d.nextAttemptAt));
  }
  if (d.status === 'delivered') return h('span', {}, badge(d.status), ' at ', time(d.deliveredAt));
  return badge(d.status);
}

function attemptRow(a, index) {
  const outcome =
    a.httpStatus === null
      ? h('span', { class: 'error' }, a.error ?? 'no answer')
      : h('span', { class: a.httpStatus < 300 ? undefined : 'error' }, `HTTP ${a.httpStatus}`);
  return h(
    'tr',
    {},
    h('td', { class: 'num' }, String(index + 1)),
    h('td', {}, time(a.attemptedAt)),
    h('td', {}, outcome),
    h('td', { class: 'num' }, `${a.durationMs.toLocaleString()} ms`),
    h(
      'td',
      { class: 'answer' },
      a.responseBody
        ? h('pre', { class: 'wrap' }, a.responseBody)
        : h('span', { class: 'muted' }, '—'),
    ),
  );
}

export async function deliveryScreen(screen) {
  const d = await api(`/deliveries/${encodeURIComponent(screen.rowId)}`);
  // Its subscription's name, for the way back; the delivery shows without it.
  const subscription = await api(`/subscriptions/${d.subscriptionId}`).catch(() => undefined);
  const subscriptionName = subscription?.name ?? 'its subscription';
  const panel = replayPanel();
  const sendAgain = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      onclick: () =>
        replayDeliveries({
          panel,
          selection: { ids: [d.id] },
          describe: 'this one',
          nothing: 'Nothing to send: this delivery is gone (its event expired).',
          confirmLabel: () => 'Send it again',
          open: screen.open,
          hash: `#/deliveries/${d.id}`,
        }).catch(screen.fail),
    },
    'Send again…',
  );
  const notice = noticeBox(screen.notice);
  const shown = show(screen, `Delivery of ${d.eventId}`, [
    h(
      'p',
      {},
      h('a', { href: `#/subscriptions/${d.subscriptionId}` }, `← Subscription ${subscriptionName}`),
    ),
    h('h1', {}, 'Delivery of ', h('span', { class: 'mono' }, d.eventId)),
    notice,
    fields([
      ['Status', status(d)],
      [
        'Event',
        h(
          'span',
          {},
          h('span', { class: 'mono' }, d.eventId),
          ' ',
          h('a', { href: `#/events/${d.eventRowId}` }, 'Open the stored event'),
        ),
      ],
      ['Source', d.source],
      ['Type', d.type],
      ['Subscription', h('a', { href: `#/subscriptions/${d.subscriptionId}` }, subscriptionName)],
      ['Attempts', `${d.attempts} since made or last replayed`],
      ['Last attempt', time(d.lastAttemptAt)],
      ['Last error', d.lastError],
      ['Stored at', time(d.storedAt)],
      ['webhook-id', h('span', { class: 'mono' }, d.webhookId)],
      ['Delivery id', h('span', { class: 'mono' }, d.id)],
    ]),
    h('div', { class: 'toolbar' }, sendAgain),
    panel,
    h('h2', { id: 'attempts-title' }, 'Attempts'),
    table(
      'Attempts, oldest first',
      [
        { label: '#', class: 'num' },
        'Time',
        'HTTP status or error',
        { label: 'Duration', class: 'num' },
        'Answer (first KiB)',
      ],
      d.attemptLog.map(attemptRow),
      'No attempt yet.',
    ),
  ]);
  if (!shown) return;
  if (notice) {
    say(screen.notice);
    notice.focus();
  }
}
