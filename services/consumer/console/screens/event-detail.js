// One stored event: its fields, its data exactly as stored, and the request that sends it again.
import { api } from '../lib/api.js';
import { copyText } from '../lib/copy-text.js';
import { h } from '../lib/dom.js';
import { fields } from '../lib/fields.js';
import { time } from '../lib/format.js';
import { prettyJsonText } from '../lib/json-text.js';
import { show } from '../lib/view.js';

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

export async function eventScreen(screen) {
  const { rowId } = screen;
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
  show(screen, `Event ${event.eventId}`, [
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
        (event.requestId ?? letter?.requestId)
          ? h('span', { class: 'mono' }, event.requestId ?? letter?.requestId)
          : h(
              'span',
              { class: 'muted' },
              'none: the event came without one, or was stored before request ids were kept',
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
