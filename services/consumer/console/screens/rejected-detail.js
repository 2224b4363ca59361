// One kept rejected request: why, its headers and raw body as text, and the command that
// admits it once the secret is fixed.
import { api } from '../lib/api.js';
import { copyText } from '../lib/copy-text.js';
import { h } from '../lib/dom.js';
import { fields } from '../lib/fields.js';
import { badge, time } from '../lib/format.js';
import { show } from '../lib/view.js';

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

function admitted(r) {
  if (!r.admittedAt) return h('span', {}, badge('refused'), ' not admitted (yet)');
  return h(
    'span',
    {},
    badge('admitted'),
    ' at ',
    time(r.admittedAt),
    r.admittedEventId ? ' as event ' : null,
    r.admittedEventId ? h('span', { class: 'mono' }, r.admittedEventId) : null,
  );
}

/** What to do next: nothing once admitted, else the command that admits it, to copy. */
function replaySection(r) {
  if (r.admittedAt) {
    return [
      h('h2', {}, 'Replay'),
      h('p', { class: 'hint' }, 'Already admitted: a replay skips it.'),
    ];
  }
  const command = replayCommand(r);
  const commandBlock = h(
    'pre',
    { id: 'replay-command', class: 'wrap', tabindex: '0', 'aria-label': 'Replay command' },
    command,
  );
  return [
    h('h2', {}, 'Admit it once the secret is fixed'),
    h(
      'p',
      { class: 'hint' },
      'Fix the secret in WEBHOOK_SOURCES, then run this where the services run (with their settings). It verifies this request and every later one of this source again, publishes those that now verify as if they had just arrived, and marks them admitted; add --dry-run to count first.',
    ),
    commandBlock,
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        { type: 'button', onclick: () => copyText(command, commandBlock) },
        'Copy command',
      ),
    ),
  ];
}

function headersTable(headers) {
  const rows = Object.entries(headers)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) =>
        h('tr', {}, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'mono' }, v)),
      ),
    );
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No header kept.');
  return h(
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
      h('tbody', {}, rows),
    ),
  );
}

export async function rejectedScreen(screen) {
  const r = await api(`/rejected/${encodeURIComponent(screen.rowId)}`);
  const body = bodyText(r.bodyBase64);
  show(screen, `Rejected request ${r.id}`, [
    h('p', {}, h('a', { href: '#/rejected' }, '← Rejected requests')),
    h('h1', {}, 'Rejected request from ', r.source),
    fields([
      ['Source', r.source],
      ['Reason', r.detail ? `${r.reason}: ${r.detail}` : r.reason],
      ['Received at', time(r.receivedAt)],
      ['Admitted', admitted(r)],
      ['Request id', r.requestId ? h('span', { class: 'mono' }, r.requestId) : null],
      ['Kept id', h('span', { class: 'mono' }, r.id)],
    ]),
    ...replaySection(r),
    h('h2', { id: 'headers-title' }, 'Headers, as kept'),
    h(
      'p',
      { class: 'hint' },
      'Credentials (authorization, cookie, API keys) were removed before the request was kept.',
    ),
    headersTable(r.headers),
    h(
      'h2',
      { id: 'body-title' },
      `Body, raw text (${r.bodyBytes.toLocaleString()} bytes${body.utf8 ? '' : ', not valid UTF-8'})`,
    ),
    h('pre', { class: 'wrap', 'aria-labelledby': 'body-title', tabindex: '0' }, body.text),
  ]);
}
