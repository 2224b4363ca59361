// What an operator does to a subscription besides editing it: pause and resume, a signed test
// event, and a backfill of events stored earlier (counted by a dry run before it is confirmed).
import { api, Unauthorized } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { formField } from '../lib/form-field.js';
import { badge, time } from '../lib/format.js';
import { counted, startReplay } from '../lib/replay.js';

/** Its state, with why and since when the senders paused it when they did. */
export function stateOf(s) {
  if (s.state !== 'paused') return badge(s.state);
  return h(
    'span',
    { class: 'state' },
    badge(s.state),
    ' ',
    s.pausedReason
      ? h('span', { class: 'paused-reason' }, `automatically: ${s.pausedReason}`)
      : h('span', { class: 'muted' }, 'by an operator'),
    s.pausedAt ? [h('br'), h('span', { class: 'muted' }, 'since ', time(s.pausedAt))] : null,
  );
}

/**
 * Pause or Resume, by what the subscription is now; `done(text)` once it changed, `fail` for
 * a 401. `named` puts the subscription's name in its accessible name, for buttons in a list.
 */
export function pauseButton(s, { done, fail, named = false }) {
  const resume = s.state === 'paused';
  const action = resume ? 'Resume' : 'Pause';
  const button = h(
    'button',
    {
      type: 'button',
      'aria-label': named ? `${action} ${s.name}` : undefined,
      onclick: async () => {
        button.disabled = true;
        try {
          await api(`/subscriptions/${encodeURIComponent(s.id)}/${action.toLowerCase()}`, {
            method: 'POST',
          });
          done(
            resume
              ? `Resumed ${s.name}: what waited is being sent.`
              : `Paused ${s.name}: its deliveries wait until it is resumed.`,
          );
        } catch (err) {
          if (err instanceof Unauthorized) fail(err);
          else {
            button.disabled = false;
            button.title = err.message;
          }
        }
      },
    },
    action,
  );
  return button;
}

/** How a test event went, in words. */
function testOutcome(result) {
  const how = result.status !== undefined ? `HTTP ${result.status}` : result.error;
  return result.delivered
    ? `Test event delivered: ${how} in ${result.durationMs} ms.`
    : `Test event not delivered: ${how} after ${result.durationMs} ms.`;
}

/** "Send a test event" and the panel that says how it went. */
export function testEventControl(s, { fail }) {
  // Styled once it says something (`startReplay` and the button set its class).
  const panel = h('div', { tabindex: '-1', hidden: true, 'aria-live': 'polite' });
  const button = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        button.disabled = true;
        panel.hidden = false;
        panel.className = 'confirm';
        panel.replaceChildren(h('p', {}, 'Sending…'));
        try {
          const result = await api(`/subscriptions/${encodeURIComponent(s.id)}/test`, {
            method: 'POST',
          });
          panel.className = result.delivered ? 'result' : 'confirm';
          panel.replaceChildren(h('p', {}, testOutcome(result)));
        } catch (err) {
          if (err instanceof Unauthorized) {
            fail(err);
            return;
          }
          panel.className = 'confirm';
          panel.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
        } finally {
          button.disabled = false;
        }
        panel.focus();
      },
    },
    'Send a test event',
  );
  return { button, panel };
}

/** "a, b , c" as ["a", "b", "c"]; nothing given: undefined. */
function listOf(text) {
  const items = String(text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length > 0 ? items : undefined;
}

/** A datetime-local value (the reader's time) for `date`, to the minute. */
function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** What a backfill did, for the screen shown after it. */
function backfilledText({ matched, queued }) {
  const sent = `Queued ${counted(queued, ['delivery', 'deliveries'])} of stored events`;
  const had = matched - queued;
  return had === 0 ? `${sent}.` : `${sent}; ${had} of the ${matched} matching had one already.`;
}

/**
 * The backfill form, folded: a window of stored time (the last day by default) and optional
 * sources and types; a dry run counts the matching events, then the operator confirms and
 * `open`s `hash` with what was queued. `fail` gets a 401.
 */
export function backfillForm(s, { open, hash, fail }) {
  const now = new Date();
  const panel = h('div', { tabindex: '-1', hidden: true, 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'entry-form', 'aria-label': 'Backfill' },
    backfillField('from', 'Stored from', {
      type: 'datetime-local',
      required: true,
      value: localInputValue(new Date(now.getTime() - 86_400_000)),
    }),
    backfillField('to', 'Stored before', {
      type: 'datetime-local',
      required: true,
      value: localInputValue(new Date(now.getTime() + 60_000)),
    }),
    backfillField(
      'sources',
      'Only sources',
      { type: 'text', placeholder: 'shop, billing' },
      'Comma-separated; empty: those of the filter.',
    ),
    backfillField(
      'types',
      'Only types',
      { type: 'text', placeholder: 'order.paid, invoice.*' },
      'Comma-separated, a trailing * a prefix; empty: those of the filter.',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Count events…')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const selection = {
      from: new Date(String(values.get('from'))).toISOString(),
      to: new Date(String(values.get('to'))).toISOString(),
    };
    const sources = listOf(values.get('sources'));
    const types = listOf(values.get('types'));
    if (sources) selection.sources = sources;
    if (types) selection.types = types;
    startReplay({
      panel,
      path: `/subscriptions/${encodeURIComponent(s.id)}/backfill`,
      selection,
      words: {
        nouns: ['stored event', 'stored events'],
        describe: 'in the window, matching the filter',
        nothing: 'No stored event in this window matches the filter.',
        consequence:
          'will be sent to this subscription, each with its usual webhook-id; those it has a delivery for already are left as they are.',
        confirmLabel: (count) => `Backfill ${count}`,
      },
      done: (result) => open(hash, backfilledText(result)),
    }).catch(fail);
  });
  return h(
    'details',
    { class: 'entry-panel' },
    h('summary', {}, 'Backfill events stored earlier'),
    form,
    panel,
  );
}

/** A field of the backfill form. */
function backfillField(name, label, input, hint) {
  return formField('backfill', name, label, input, hint);
}
