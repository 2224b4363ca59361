// Recorded dead letters, newest first, by filter; replay a selection or all that match.
import { h } from '../lib/dom.js';
import { badge, time } from '../lib/format.js';
import { fetchPage, showPage } from '../lib/list-screen.js';
import { DEAD_LETTER_REASONS } from '../reasons.js';
import { replayPanel, startReplay } from './dead-letter-replay.js';

const DEAD_LETTER_FILTERS = [
  { name: 'source', label: 'Source' },
  { name: 'type', label: 'Type' },
  { name: 'reason', label: 'Reason', options: DEAD_LETTER_REASONS },
  { name: 'eventId', label: 'Event id' },
  { name: 'from', label: 'Dead-lettered from', time: true },
  { name: 'to', label: 'Dead-lettered before', time: true },
];

function row(d, box) {
  return h(
    'tr',
    {},
    h('td', {}, box),
    h(
      'td',
      { class: 'mono' },
      h('a', { href: `#/dead-letters/${d.id}` }, d.eventId ?? '(no event id)'),
    ),
    h('td', {}, badge(d.status)),
    h('td', {}, d.reason),
    h('td', {}, time(d.deadLetteredAt)),
    h('td', {}, d.source ?? '—'),
    h('td', {}, d.type ?? '—'),
    h('td', { class: 'num' }, String(d.attempts)),
    h(
      'td',
      { class: 'hide-narrow' },
      d.lastError.length > 90 ? `${d.lastError.slice(0, 90)}…` : d.lastError,
    ),
  );
}

export async function deadLettersScreen(screen) {
  const { params } = screen;
  const page = await fetchPage(screen, 'dead-letters', DEAD_LETTER_FILTERS);
  const panel = replayPanel();
  const replay = (selection, describe) =>
    startReplay({ panel, selection, describe, reload: screen.reload }).catch(screen.fail);

  const selectedIds = new Set();
  const replaySelected = h('button', { type: 'button', disabled: true }, 'Replay selected (0)');
  const update = () => {
    replaySelected.textContent = `Replay selected (${selectedIds.size})`;
    replaySelected.disabled = selectedIds.size === 0;
  };
  const checkboxes = [];
  const rows = page.items.map((d) => {
    const box = h('input', {
      type: 'checkbox',
      'aria-label': `Select dead letter ${d.eventId ?? d.id}`,
      disabled: d.status !== 'dead',
      onchange: (e) => {
        if (e.target.checked) selectedIds.add(d.id);
        else selectedIds.delete(d.id);
        update();
      },
    });
    if (d.status === 'dead') checkboxes.push(box);
    return row(d, box);
  });
  const selectAll = h('input', {
    type: 'checkbox',
    'aria-label': 'Select every waiting dead letter on this page',
    onchange: (e) => {
      for (const box of checkboxes) {
        box.checked = e.target.checked;
        box.dispatchEvent(new Event('change'));
      }
    },
  });
  replaySelected.addEventListener('click', () =>
    replay({ ids: [...selectedIds] }, 'the selected ones'),
  );

  const filter = {};
  for (const { name } of DEAD_LETTER_FILTERS) if (params.get(name)) filter[name] = params.get(name);
  const filtered = Object.keys(filter).length > 0;
  const replayMatching = h(
    'button',
    {
      type: 'button',
      onclick: () =>
        replay(filter, filtered ? 'those matching the filter' : 'all recorded dead letters'),
    },
    filtered ? 'Replay all matching the filter…' : 'Replay all…',
  );

  showPage(screen, page, {
    section: 'dead-letters',
    title: 'Dead letters',
    filters: DEAD_LETTER_FILTERS,
    noun: 'dead letter',
    extras: [h('div', { class: 'toolbar' }, replaySelected, replayMatching), panel],
    caption: 'Dead letters, newest first',
    headers: [
      { label: selectAll },
      'Event id',
      'Status',
      'Reason',
      'Dead-lettered at',
      'Source',
      'Type',
      { label: 'Attempts', class: 'num' },
      { label: 'Last error', class: 'hide-narrow' },
    ],
    rows,
    empty: 'No dead letter matches.',
    hint: 'Read from the database: looking here never touches the dead-letter queue. Only letters still waiting (status dead) can be replayed.',
  });
}
