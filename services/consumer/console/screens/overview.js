// The last hour at a glance: health, per source, dead letters by reason. Refreshes itself.
import { api } from '../lib/api.js';
import { card } from '../lib/card.js';
import { h } from '../lib/dom.js';
import { ageText, badge, durationText, numberOrUnknown, time } from '../lib/format.js';
import { table } from '../lib/table.js';
import { refreshLater, show } from '../lib/view.js';

const OVERVIEW_REFRESH_MS = 5000;

function healthCards(o) {
  const lag = o.receiptToStoredSeconds;
  return h(
    'div',
    { class: 'cards' },
    card(
      'Database circuit',
      badge(o.databaseCircuit),
      o.databaseCircuit === 'open' ? 'database away: consumption paused' : 'consuming',
    ),
    card('Consumer lag', numberOrUnknown(o.lagMessages), 'messages waiting in the main queue'),
    card(
      'Receipt → stored p50',
      durationText(lag?.p50),
      lag
        ? `p99 ${durationText(lag.p99)} over ${lag.count.toLocaleString()} events since start`
        : 'no event stored since start',
    ),
    card('Retry queues', numberOrUnknown(o.queues.retry), 'messages waiting to be retried'),
    card('Dead-letter queue', numberOrUnknown(o.queues.deadLetter), 'messages'),
    card(
      'Oldest dead letter',
      o.oldestDeadLetter ? ageText(o.oldestDeadLetter.ageSeconds) : 'none',
      o.oldestDeadLetter
        ? h('a', { href: '#/dead-letters' }, 'waiting for a replay')
        : 'nothing waiting',
    ),
  );
}

export async function overviewScreen(screen, { refreshing = false } = {}) {
  const o = await api('/overview');
  const sources = o.sources.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `#/events?source=${encodeURIComponent(s.source)}` }, s.source)),
      h('td', { class: 'num' }, s.stored.toLocaleString()),
      h('td', { class: 'num' }, s.deadLettered.toLocaleString()),
      h('td', { class: 'num' }, (s.stored + s.deadLettered).toLocaleString()),
    ),
  );
  const reasons = o.deadLetteredByReason.map((r) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        h('a', { href: `#/dead-letters?reason=${encodeURIComponent(r.reason)}` }, r.reason),
      ),
      h('td', { class: 'num' }, r.count.toLocaleString()),
    ),
  );
  const shown = show(
    screen,
    'Overview',
    [
      h('h1', {}, 'Overview'),
      h(
        'p',
        { class: 'muted' },
        'The last hour, since ',
        time(o.windowStart),
        `. Refreshes every ${OVERVIEW_REFRESH_MS / 1000} s; updated `,
        time(o.generatedAt),
        '.',
      ),
      h('section', { 'aria-label': 'Health' }, healthCards(o)),
      h('h2', {}, 'Per source, last hour'),
      table(
        'Events per source in the last hour',
        [
          'Source',
          { label: 'Stored', class: 'num' },
          { label: 'Dead-lettered', class: 'num' },
          { label: 'Reached the consumer', class: 'num' },
        ],
        sources,
        'Nothing reached the consumer in the last hour.',
      ),
      h(
        'p',
        { class: 'hint' },
        'Accepted requests are counted where they arrive, by the ingest API (webhooks_accepted_total on its /metrics); this consumer sees what reached it: stored plus dead-lettered.',
      ),
      h('h2', {}, 'Dead-lettered by reason, last hour'),
      table(
        'Dead letters by reason in the last hour',
        ['Reason', { label: 'Dead letters', class: 'num' }],
        reasons,
        'No dead letter in the last hour.',
      ),
      h(
        'p',
        { class: 'hint' },
        'Requests the ingest API refused (bad JSON, bad signature, too large…) never reach the queue; they are counted by reason in webhooks_rejected_total on its /metrics.',
      ),
    ],
    { focus: !refreshing },
  );
  if (!shown) return;
  refreshLater(() => {
    overviewScreen(screen, { refreshing: true }).catch(screen.fail);
  }, OVERVIEW_REFRESH_MS);
}
