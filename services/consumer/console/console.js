// The operator console: plain DOM, no framework, no build step. Every value from the server is
// put into the page as text (never as HTML). The token lives in sessionStorage and travels only
// in the Authorization header.
import { prettyJsonText } from './json-text.js';

const TOKEN_KEY = 'webhook-console-token';
const PAGE_SIZE = 25;
const OVERVIEW_REFRESH_MS = 5000;
const REASONS = ['invalid_message', 'rejected_by_database', 'retries_exhausted'];
const REJECTION_REASONS = ['invalid_signature', 'unknown_source'];

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const signOut = document.getElementById('sign-out');

/** Incremented on every navigation: a slow answer for an older screen is dropped. */
let screen = 0;
let refreshTimer;

class Unauthorized extends Error {}

// ---- HTTP ----------------------------------------------------------------------------------

async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) throw new Unauthorized('unauthorized');
  const text = await res.text();
  if (!res.ok) throw new Error(describeError(res.status, text));
  return raw ? text : JSON.parse(text);
}

function describeError(status, text) {
  try {
    const error = JSON.parse(text);
    if (Array.isArray(error.issues)) {
      return error.issues.map((i) => `${i.path || 'request'}: ${i.message}`).join('; ');
    }
    return error.message ?? error.error ?? `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
}

// ---- DOM helpers ---------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let sayTimer;

/** Announces `message` (screen readers) and shows it for a few seconds. */
function say(message) {
  statusLine.textContent = message;
  clearTimeout(sayTimer);
  if (message) sayTimer = setTimeout(() => (statusLine.textContent = ''), 5000);
}

function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, date.toLocaleString());
}

function ageText(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

function seconds(value) {
  if (value === null || value === undefined) return '—';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

function numberOrUnknown(value) {
  return value === null || value === undefined ? 'unknown' : value.toLocaleString();
}

function badge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

function table(caption, headers, rows, emptyText) {
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

function card(label, value, extra) {
  return h(
    'div',
    { class: 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    extra ? h('div', { class: 'muted' }, extra) : null,
  );
}

function fields(entries) {
  return h(
    'dl',
    { class: 'fields' },
    entries.flatMap(([label, value]) => [
      h('dt', {}, label),
      h('dd', {}, value ?? h('span', { class: 'muted' }, '—')),
    ]),
  );
}

/** Shows a screen's content unless the user has moved on since it was requested. */
function show(id, title, nodes, { focus = true } = {}) {
  if (id !== screen) return false;
  document.title = `${title} · Webhook console`;
  main.replaceChildren(...nodes);
  if (focus) main.focus({ preventScroll: true });
  return true;
}

// ---- filters and paging --------------------------------------------------------------------

/** An ISO time as the value of a datetime-local input (local time, minutes). */
function localInputValue(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function filterForm(section, params, controls) {
  const active = controls.filter((c) => params.get(c.name)).length;
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filters' },
    controls.map((control) => {
      const id = `filter-${control.name}`;
      const value = params.get(control.name) ?? '';
      let input;
      if (control.options) {
        input = h(
          'select',
          { id, name: control.name },
          h('option', { value: '' }, 'any'),
          control.options.map((o) => h('option', { value: o, selected: o === value }, o)),
        );
      } else if (control.time) {
        input = h('input', {
          id,
          name: control.name,
          type: 'datetime-local',
          value: localInputValue(value),
        });
      } else {
        input = h('input', {
          id,
          name: control.name,
          type: 'text',
          value,
          placeholder: control.placeholder,
          spellcheck: 'false',
          autocomplete: 'off',
        });
      }
      return h(
        'div',
        { class: control.wide ? 'wide' : undefined },
        h('label', { for: id }, control.label),
        input,
      );
    }),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h(
        'button',
        {
          type: 'reset',
          onclick: (e) => {
            e.preventDefault();
            location.hash = `#/${section}`;
          },
        },
        'Clear',
      ),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const control of controls) {
      const raw = new FormData(form).get(control.name);
      if (typeof raw !== 'string' || raw.trim() === '') continue;
      next.set(control.name, control.time ? new Date(raw).toISOString() : raw.trim());
    }
    location.hash = `#/${section}?${next}`;
  });
  // On a phone the filters fold away unless one is in use.
  const open = active > 0 || window.matchMedia('(min-width: 40rem)').matches;
  return h(
    'details',
    { class: 'filter-panel', open },
    h('summary', {}, active > 0 ? `Filters (${active} in use)` : 'Filters'),
    form,
  );
}

function apiQuery(params, names) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of [...names, 'cursor']) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  return query;
}

function pager(section, params, nextCursor) {
  const newest = new URLSearchParams(params);
  newest.delete('cursor');
  const older = new URLSearchParams(params);
  if (nextCursor) older.set('cursor', nextCursor);
  return h(
    'nav',
    { class: 'toolbar', 'aria-label': 'Pages' },
    params.get('cursor')
      ? h('a', { class: 'button', href: `#/${section}?${newest}` }, '← Newest')
      : null,
    nextCursor ? h('a', { class: 'button', href: `#/${section}?${older}` }, 'Older →') : null,
  );
}

// ---- screens -------------------------------------------------------------------------------

async function overviewScreen(id, { refreshing = false } = {}) {
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
  const lag = o.receiptToStoredSeconds;
  const shown = show(
    id,
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
      h(
        'section',
        { 'aria-label': 'Health' },
        h(
          'div',
          { class: 'cards' },
          card(
            'Database circuit',
            badge(o.databaseCircuit),
            o.databaseCircuit === 'open' ? 'database away: consumption paused' : 'consuming',
          ),
          card(
            'Consumer lag',
            numberOrUnknown(o.lagMessages),
            'messages waiting in the main queue',
          ),
          card(
            'Receipt → stored p50',
            seconds(lag?.p50),
            lag
              ? `p99 ${seconds(lag.p99)} over ${lag.count.toLocaleString()} events since start`
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
        ),
      ),
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
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    overviewScreen(id, { refreshing: true }).catch((err) => handleError(err, id));
  }, OVERVIEW_REFRESH_MS);
}

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

async function eventsScreen(id, params) {
  const page = await api(
    `/events?${apiQuery(
      params,
      EVENT_FILTERS.map((f) => f.name),
    )}`,
  );
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
  show(id, 'Events', [
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
  say(
    `${page.items.length} event${page.items.length === 1 ? '' : 's'} shown${page.nextCursor ? ', more on older pages' : ''}.`,
  );
}

/** The ingest request that re-sends an event, with `data` as the stored text. */
function curlCommand(event, dataText) {
  const body = `{"source":${JSON.stringify(event.source)},"type":${JSON.stringify(event.type)},"id":${JSON.stringify(event.eventId)},"timestamp":${JSON.stringify(event.timestamp)},"data":${dataText}}`;
  return [
    `curl -sS -X POST "\${INGEST_URL:-http://localhost:8080}/webhook" \\`,
    `  -H 'content-type: application/json' \\`,
    `  --data-binary @- <<'JSON'`,
    body,
    'JSON',
  ].join('\n');
}

async function copyText(text, node) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (plain http on another host): select it for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say('Selected: press Ctrl+C (⌘C) to copy.');
    return;
  }
  say('Copied to the clipboard.');
}

async function eventScreen(id, rowId) {
  const [event, dataText] = await Promise.all([
    api(`/events/${encodeURIComponent(rowId)}`),
    api(`/events/${encodeURIComponent(rowId)}/data`, { raw: true }),
  ]);
  // A stored event that was dead-lettered before has its request id in that record.
  const letters = await api(
    `/dead-letters?${new URLSearchParams({ eventId: event.eventId, source: event.source, limit: '1' })}`,
  ).catch(() => ({ items: [] }));
  const letter = letters.items[0];
  const curl = curlCommand(event, dataText);
  const curlBlock = h(
    'pre',
    { id: 'curl', class: 'wrap', tabindex: '0', 'aria-label': 'curl command' },
    curl,
  );
  show(id, `Event ${event.eventId}`, [
    h('p', {}, h('a', { href: '#/events' }, '← Events')),
    h('h1', {}, 'Event ', h('span', { class: 'mono' }, event.eventId)),
    fields([
      ['Event id', h('span', { class: 'mono' }, event.eventId)],
      ['Source', event.source],
      ['Type', event.type],
      ['Event time', time(event.timestamp)],
      ['Stored at', time(event.createdAt)],
      ['Row id', h('span', { class: 'mono' }, event.id)],
      [
        'Request id',
        letter?.requestId
          ? h('span', { class: 'mono' }, letter.requestId)
          : h(
              'span',
              { class: 'muted' },
              'not kept with stored events; the consumer logs it with the event id',
            ),
      ],
      [
        'Dead-lettered before',
        letter ? h('a', { href: `#/dead-letters/${letter.id}` }, `yes: ${letter.reason}`) : 'no',
      ],
    ]),
    h('h2', { id: 'data-title' }, 'Data, as stored'),
    h('pre', { 'aria-labelledby': 'data-title', tabindex: '0' }, prettyJsonText(dataText)),
    h('h2', {}, 'Send it again'),
    h(
      'p',
      { class: 'hint' },
      'Posts the same event to the ingest API (set INGEST_URL). With the same id it is stored once: a second copy needs a new id.',
    ),
    curlBlock,
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        { type: 'button', onclick: () => copyText(curl, curlBlock) },
        'Copy curl command',
      ),
    ),
  ]);
}

const DEAD_LETTER_FILTERS = [
  { name: 'source', label: 'Source' },
  { name: 'type', label: 'Type' },
  { name: 'reason', label: 'Reason', options: REASONS },
  { name: 'eventId', label: 'Event id' },
  { name: 'from', label: 'Dead-lettered from', time: true },
  { name: 'to', label: 'Dead-lettered before', time: true },
];

/**
 * Replays `selection` in two steps: a dry run shows how many would move, then the operator
 * confirms. `panel` shows the count, then the result.
 */
async function startReplay(panel, selection, describe) {
  panel.replaceChildren(h('p', {}, 'Counting…'));
  panel.hidden = false;
  let preview;
  try {
    preview = await api('/dead-letters/replay', {
      method: 'POST',
      body: { ...selection, dryRun: true },
    });
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    panel.replaceChildren(
      h('p', { class: 'error', role: 'alert' }, `Could not count: ${err.message}`),
    );
    return;
  }
  if (preview.matched === 0) {
    panel.className = 'confirm';
    panel.replaceChildren(
      h('p', {}, `Nothing to replay: none of ${describe} is waiting in the dead-letter queue.`),
    );
    panel.focus();
    return;
  }
  const noun = preview.matched === 1 ? 'dead letter' : 'dead letters';
  const confirmButton = h(
    'button',
    { type: 'button', class: 'danger' },
    `Replay ${preview.matched} ${noun}`,
  );
  const cancel = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        panel.hidden = true;
      },
    },
    'Cancel',
  );
  panel.className = 'confirm';
  panel.replaceChildren(
    h(
      'p',
      {},
      h('strong', {}, `${preview.matched} ${noun}`),
      ` (${describe}) will move back to the main queue and be tried again.`,
    ),
    h('div', { class: 'toolbar' }, confirmButton, cancel),
  );
  panel.focus();
  confirmButton.addEventListener('click', async () => {
    confirmButton.disabled = true;
    cancel.disabled = true;
    try {
      const result = await api('/dead-letters/replay', {
        method: 'POST',
        body: { ...selection, dryRun: false },
      });
      // One dead letter can stand for several messages in the queue (copies of one event):
      // `moved` counts messages, `matched` dead letters.
      const messages = result.moved === 1 ? 'message' : 'messages';
      const letters = result.matched === 1 ? 'dead letter' : 'dead letters';
      const moved = `Moved ${result.moved} ${messages} of ${result.matched} ${letters}`;
      panel.className = 'result';
      panel.replaceChildren(
        h('p', {}, h('strong', {}, moved), ' back to the main queue.'),
        h(
          'div',
          { class: 'toolbar' },
          h('button', { type: 'button', onclick: () => route() }, 'Refresh'),
        ),
      );
      say(`Replayed: ${moved.toLowerCase()}.`);
    } catch (err) {
      if (err instanceof Unauthorized) throw err;
      panel.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, `Replay failed: ${err.message}`),
      );
    }
    panel.focus();
  });
}

async function deadLettersScreen(id, params) {
  const names = DEAD_LETTER_FILTERS.map((f) => f.name);
  const page = await api(`/dead-letters?${apiQuery(params, names)}`);
  const panel = h('div', { class: 'confirm', tabindex: '-1', hidden: true, 'aria-live': 'polite' });
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
    startReplay(panel, { ids: [...selectedIds] }, 'the selected ones').catch((err) =>
      handleError(err, id),
    ),
  );
  const filter = {};
  for (const name of names) if (params.get(name)) filter[name] = params.get(name);
  const filtered = Object.keys(filter).length > 0;
  const replayMatching = h(
    'button',
    {
      type: 'button',
      onclick: () =>
        startReplay(
          panel,
          filter,
          filtered ? 'those matching the filter' : 'all recorded dead letters',
        ).catch((err) => handleError(err, id)),
    },
    filtered ? 'Replay all matching the filter…' : 'Replay all…',
  );
  show(id, 'Dead letters', [
    h('h1', {}, 'Dead letters'),
    filterForm('dead-letters', params, DEAD_LETTER_FILTERS),
    h('div', { class: 'toolbar' }, replaySelected, replayMatching),
    panel,
    table(
      'Dead letters, newest first',
      [
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
      'No dead letter matches.',
    ),
    pager('dead-letters', params, page.nextCursor),
    h(
      'p',
      { class: 'hint' },
      'Read from the database: looking here never touches the dead-letter queue. Only letters still waiting (status dead) can be replayed.',
    ),
  ]);
  say(
    `${page.items.length} dead letter${page.items.length === 1 ? '' : 's'} shown${page.nextCursor ? ', more on older pages' : ''}.`,
  );
}

async function deadLetterScreen(id, rowId) {
  const d = await api(`/dead-letters/${encodeURIComponent(rowId)}`);
  const panel = h('div', { class: 'confirm', tabindex: '-1', hidden: true, 'aria-live': 'polite' });
  const storedLink =
    d.status === 'stored' && d.eventId
      ? h(
          'a',
          { href: `#/events?${new URLSearchParams({ source: d.source, eventId: d.eventId })}` },
          'Open the stored event',
        )
      : null;
  show(id, `Dead letter ${d.eventId ?? d.id}`, [
    h('p', {}, h('a', { href: '#/dead-letters' }, '← Dead letters')),
    h('h1', {}, 'Dead letter ', h('span', { class: 'mono' }, d.eventId ?? d.id)),
    fields([
      ['Status', h('span', {}, badge(d.status), ' ', storedLink)],
      ['Reason', d.reason],
      ['Attempts', String(d.attempts)],
      ['First failed at', time(d.firstFailedAt)],
      ['Dead-lettered at', time(d.deadLetteredAt)],
      ['Times dead-lettered', String(d.deadLetterCount)],
      [
        'Replays',
        d.replayCount > 0 ? h('span', {}, `${d.replayCount}, last `, time(d.replayedAt)) : '0',
      ],
      ['Event id', d.eventId ? h('span', { class: 'mono' }, d.eventId) : null],
      ['Source', d.source],
      ['Type', d.type],
      ['Request id', d.requestId ? h('span', { class: 'mono' }, d.requestId) : null],
      ['Record id', h('span', { class: 'mono' }, d.id)],
    ]),
    h('h2', { id: 'error-title' }, 'Last error'),
    h('pre', { 'aria-labelledby': 'error-title', tabindex: '0' }, d.lastError),
    d.status === 'dead'
      ? h(
          'div',
          { class: 'toolbar' },
          h(
            'button',
            {
              type: 'button',
              class: 'primary',
              onclick: () =>
                startReplay(panel, { ids: [d.id] }, 'this one').catch((err) =>
                  handleError(err, id),
                ),
            },
            'Replay this dead letter…',
          ),
        )
      : null,
    panel,
    h('h2', { id: 'body-title' }, `Message body (${d.bodyBytes.toLocaleString()} bytes)`),
    h('pre', { 'aria-labelledby': 'body-title', tabindex: '0' }, prettyJsonText(d.body)),
  ]);
}

const REJECTED_FILTERS = [
  { name: 'source', label: 'Source' },
  { name: 'reason', label: 'Reason', options: REJECTION_REASONS },
  { name: 'from', label: 'Received from', time: true },
  { name: 'to', label: 'Received before', time: true },
];

function admittedBadge(r) {
  return r.admittedAt ? badge('admitted') : badge('refused');
}

/** A word as one shell argument: as it is when plainly safe, else in single quotes. */
function shellWord(word) {
  return /^[A-Za-z0-9_.:+@%/=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The CLI run that admits this request (and any later one of its source) once it verifies. */
function replayCommand(r) {
  return `pnpm rejected:replay --source ${shellWord(r.source)} --since ${r.receivedAt}`;
}

/** The body's bytes as UTF-8 text, and whether they were valid UTF-8. */
function bodyText(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), utf8: true };
  } catch {
    return { text: new TextDecoder('utf-8').decode(bytes), utf8: false };
  }
}

async function rejectedListScreen(id, params) {
  const names = REJECTED_FILTERS.map((f) => f.name);
  const page = await api(`/rejected?${apiQuery(params, names)}`);
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
      h('td', {}, admittedBadge(r)),
      h('td', { class: 'num' }, r.bodyBytes.toLocaleString()),
      h('td', { class: 'hide-narrow mono' }, r.requestId ?? '—'),
    ),
  );
  show(id, 'Rejected requests', [
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
  say(
    `${page.items.length} rejected request${page.items.length === 1 ? '' : 's'} shown${page.nextCursor ? ', more on older pages' : ''}.`,
  );
}

async function rejectedScreen(id, rowId) {
  const r = await api(`/rejected/${encodeURIComponent(rowId)}`);
  const body = bodyText(r.bodyBase64);
  const headerRows = Object.entries(r.headers)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) =>
        h('tr', {}, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'mono' }, v)),
      ),
    );
  const command = replayCommand(r);
  const commandBlock = h(
    'pre',
    { id: 'replay-command', class: 'wrap', tabindex: '0', 'aria-label': 'Replay command' },
    command,
  );
  show(id, `Rejected request ${r.id}`, [
    h('p', {}, h('a', { href: '#/rejected' }, '← Rejected requests')),
    h('h1', {}, 'Rejected request from ', r.source),
    fields([
      ['Source', r.source],
      ['Reason', r.detail ? `${r.reason}: ${r.detail}` : r.reason],
      ['Received at', time(r.receivedAt)],
      [
        'Admitted',
        r.admittedAt
          ? h(
              'span',
              {},
              badge('admitted'),
              ' at ',
              time(r.admittedAt),
              r.admittedEventId ? ' as event ' : null,
              r.admittedEventId ? h('span', { class: 'mono' }, r.admittedEventId) : null,
            )
          : h('span', {}, badge('refused'), ' not admitted (yet)'),
      ],
      ['Request id', r.requestId ? h('span', { class: 'mono' }, r.requestId) : null],
      ['Kept id', h('span', { class: 'mono' }, r.id)],
    ]),
    h('h2', {}, r.admittedAt ? 'Replay' : 'Admit it once the secret is fixed'),
    r.admittedAt
      ? h('p', { class: 'hint' }, 'Already admitted: a replay skips it.')
      : h(
          'p',
          { class: 'hint' },
          'Fix the secret in WEBHOOK_SOURCES, then run this where the services run (with their settings). It verifies this request and every later one of this source again, publishes those that now verify as if they had just arrived, and marks them admitted; add --dry-run to count first.',
        ),
    r.admittedAt ? null : commandBlock,
    r.admittedAt
      ? null
      : h(
          'div',
          { class: 'toolbar' },
          h(
            'button',
            { type: 'button', onclick: () => copyText(command, commandBlock) },
            'Copy command',
          ),
        ),
    h('h2', { id: 'headers-title' }, 'Headers, as kept'),
    h(
      'p',
      { class: 'hint' },
      'Credentials (authorization, cookie, API keys) were removed before the request was kept.',
    ),
    headerRows.length === 0
      ? h('p', { class: 'muted' }, 'No header kept.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { 'aria-labelledby': 'headers-title' },
            h(
              'thead',
              {},
              h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value')),
            ),
            h('tbody', {}, headerRows),
          ),
        ),
    h(
      'h2',
      { id: 'body-title' },
      `Body, raw text (${r.bodyBytes.toLocaleString()} bytes${body.utf8 ? '' : ', not valid UTF-8'})`,
    ),
    h('pre', { class: 'wrap', 'aria-labelledby': 'body-title', tabindex: '0' }, body.text),
  ]);
}

// ---- sign-in, routing ----------------------------------------------------------------------

function showSignIn(message) {
  screen += 1;
  clearTimeout(refreshTimer);
  signOut.hidden = true;
  const content = document.getElementById('sign-in-template').content.cloneNode(true);
  main.replaceChildren(content);
  document.title = 'Sign in · Webhook console';
  const form = document.getElementById('sign-in-form');
  const error = document.getElementById('sign-in-error');
  const input = document.getElementById('token');
  if (message) error.textContent = message;
  input.focus();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value);
    try {
      await api('/overview');
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      error.textContent =
        err instanceof Unauthorized
          ? 'That token is not accepted.'
          : `Could not check it: ${err.message}`;
      input.select();
      return;
    }
    say('Signed in.');
    route();
  });
}

function handleError(err, id) {
  if (err instanceof Unauthorized) {
    const had = sessionStorage.getItem(TOKEN_KEY) !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(had ? 'The token is no longer accepted; sign in again.' : undefined);
    return;
  }
  if (id !== screen) return;
  main.replaceChildren(
    h('h1', {}, 'Something went wrong'),
    h('p', { class: 'error', role: 'alert' }, err.message),
    h('button', { type: 'button', onclick: () => route() }, 'Try again'),
  );
}

async function route() {
  clearTimeout(refreshTimer);
  const id = ++screen;
  const hash = location.hash.replace(/^#/, '') || '/overview';
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query);
  const section = parts[0] ?? 'overview';
  for (const link of document.querySelectorAll('[data-section]')) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  signOut.hidden = sessionStorage.getItem(TOKEN_KEY) === null;
  say('');
  try {
    if (section === 'events' && parts[1]) await eventScreen(id, parts[1]);
    else if (section === 'events') await eventsScreen(id, params);
    else if (section === 'dead-letters' && parts[1]) await deadLetterScreen(id, parts[1]);
    else if (section === 'dead-letters') await deadLettersScreen(id, params);
    else if (section === 'rejected' && parts[1]) await rejectedScreen(id, parts[1]);
    else if (section === 'rejected') await rejectedListScreen(id, params);
    else await overviewScreen(id);
  } catch (err) {
    handleError(err, id);
  }
}

signOut.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  route();
});
window.addEventListener('hashchange', route);
route();
