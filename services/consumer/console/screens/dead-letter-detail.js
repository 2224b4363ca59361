// One dead letter: why it failed, its history, its body as it is in the queue; replay it.
import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { fields } from '../lib/fields.js';
import { badge, time } from '../lib/format.js';
import { prettyJsonText } from '../lib/json-text.js';
import { show } from '../lib/view.js';
import { replayPanel, startReplay } from './dead-letter-replay.js';

export async function deadLetterScreen(screen) {
  const d = await api(`/dead-letters/${encodeURIComponent(screen.rowId)}`);
  const panel = replayPanel();
  const storedLink =
    d.status === 'stored' && d.eventId
      ? h(
          'a',
          { href: `#/events?${new URLSearchParams({ source: d.source, eventId: d.eventId })}` },
          'Open the stored event',
        )
      : null;
  const replayButton = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      onclick: () =>
        startReplay({
          panel,
          selection: { ids: [d.id] },
          describe: 'this one',
          reload: screen.reload,
        }).catch(screen.fail),
    },
    'Replay this dead letter…',
  );
  show(screen, `Dead letter ${d.eventId ?? d.id}`, [
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
    d.status === 'dead' ? h('div', { class: 'toolbar' }, replayButton) : null,
    panel,
    h('h2', { id: 'body-title' }, `Message body (${d.bodyBytes.toLocaleString()} bytes)`),
    h('pre', { 'aria-labelledby': 'body-title', tabindex: '0' }, prettyJsonText(d.body)),
  ]);
}
