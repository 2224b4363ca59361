// Where stored events are sent: the subscriptions by name with their health over the last
// hour, and a form that creates one and shows its secret, once.
import { api, Unauthorized } from '../lib/api.js';
import { copyText } from '../lib/copy-text.js';
import { h } from '../lib/dom.js';
import { formField } from '../lib/form-field.js';
import { time } from '../lib/format.js';
import { fetchPage, showPage } from '../lib/list-screen.js';
import { isCurrent, noticeBox, say } from '../lib/view.js';
import { pauseButton, stateOf } from './subscription-controls.js';

/** Which events a subscription is sent, in words. */
export function filterText(filter) {
  const parts = [];
  if (filter?.sources) parts.push(`sources ${filter.sources.join(', ')}`);
  if (filter?.types) parts.push(`types ${filter.types.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'every event';
}

/** How a subscription's deliveries are ordered, in words. */
export function orderingText(ordering) {
  return ordering ? `in order per ${ordering.key}` : 'unordered';
}

/** A subscription's latest failed attempt: its error and when, or a dash. */
export function lastErrorOf(health, maxChars = 90) {
  const last = health.lastError;
  if (!last) return h('span', { class: 'muted' }, '—');
  const error = last.error.length > maxChars ? `${last.error.slice(0, maxChars)}…` : last.error;
  return h('span', {}, error, h('br'), h('span', { class: 'muted' }, time(last.at)));
}

/** How fast it may be sent to: attempts open at once, and the rate limit when it has one. */
export function limitsText(s) {
  const inFlight = `${s.maxInFlight} at once`;
  return s.rateLimitPerSecond === null || s.rateLimitPerSecond === undefined
    ? inFlight
    : `${inFlight}, ${s.rateLimitPerSecond}/s`;
}

function row(s, screen) {
  return h(
    'tr',
    {},
    h('td', {}, h('a', { href: `#/subscriptions/${s.id}` }, s.name)),
    h('td', { class: 'mono hide-narrow url' }, s.url),
    h(
      'td',
      { class: 'hide-narrow' },
      filterText(s.filter),
      s.ordering
        ? h('span', {}, h('br'), h('span', { class: 'mono muted' }, orderingText(s.ordering)))
        : null,
    ),
    h('td', {}, stateOf(s)),
    h('td', { class: 'hide-narrow' }, limitsText(s)),
    h('td', { class: 'num' }, s.health.deliveredLastHour.toLocaleString()),
    h('td', { class: 'num' }, s.health.failedLastHour.toLocaleString()),
    h('td', { class: 'num' }, s.health.failed.toLocaleString()),
    h('td', { class: 'num' }, s.health.pending.toLocaleString()),
    h('td', { class: 'hide-narrow' }, lastErrorOf(s.health)),
    h(
      'td',
      {},
      pauseButton(s, {
        named: true,
        done: (text) => screen.open(location.hash, text),
        fail: screen.fail,
      }),
    ),
  );
}

/** "a, b , c" as ["a", "b", "c"]; nothing given: undefined. */
function listOf(text) {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length > 0 ? items : undefined;
}

/**
 * The form that creates a subscription, folded unless `open`: `created(subscription)` gets the
 * answer, secret and all; `fail` a 401.
 */
function newSubscriptionForm({ created, fail, open }) {
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create subscription');
  const form = h(
    'form',
    { class: 'entry-form', 'aria-label': 'New subscription' },
    newField('name', 'Name', { type: 'text', required: true, maxlength: '255' }),
    newField('url', 'URL', { type: 'url', required: true, placeholder: 'https://…' }),
    newField(
      'sources',
      'Sources',
      { type: 'text', placeholder: 'shop, billing' },
      'Comma-separated; empty: every source.',
    ),
    newField(
      'types',
      'Types',
      { type: 'text', placeholder: 'order.paid, invoice.*' },
      'Comma-separated; a trailing * matches a prefix; empty: every type.',
    ),
    h('div', { class: 'actions' }, submit),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const filter = {};
    const sources = listOf(String(values.get('sources')));
    const types = listOf(String(values.get('types')));
    if (sources) filter.sources = sources;
    if (types) filter.types = types;
    const body = { name: String(values.get('name')), url: String(values.get('url')) };
    if (sources || types) body.filter = filter;
    error.textContent = '';
    submit.disabled = true;
    try {
      created(await api('/subscriptions', { method: 'POST', body }));
    } catch (err) {
      if (err instanceof Unauthorized) {
        fail(err);
        return;
      }
      error.textContent =
        err.message === 'name_taken'
          ? 'Another subscription has this name.'
          : `Not created: ${err.message}`;
      submit.disabled = false;
    }
  });
  return h('details', { class: 'entry-panel', open }, h('summary', {}, 'New subscription'), form);
}

/** A subscription just created, and its secret: shown this once, with a button to copy it. */
function secretPanel(s) {
  const secret = h(
    'pre',
    { class: 'wrap', tabindex: '0', 'aria-labelledby': 'secret-label' },
    s.secret,
  );
  return h(
    'section',
    { class: 'result', tabindex: '-1', 'aria-labelledby': 'created-title' },
    h(
      'h2',
      { id: 'created-title' },
      'Created ',
      h('a', { href: `#/subscriptions/${s.id}` }, s.name),
    ),
    h('p', { id: 'secret-label' }, 'Its signing secret:'),
    secret,
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', onclick: () => copyText(s.secret, secret) }, 'Copy secret'),
    ),
    h(
      'p',
      {},
      h('strong', {}, 'It will not be shown again.'),
      ' Store it now with the service at the URL: it verifies the webhook-signature of each delivery with it. Lost, it can only be replaced (PATCH /subscriptions/:id with a new secret).',
    ),
  );
}

export async function subscriptionsScreen(screen, { created } = {}) {
  const page = await fetchPage(screen, 'subscriptions', []);
  const panel = created ? secretPanel(created) : null;
  // What led here (a pause or resume from the list), at the top.
  const notice = noticeBox(screen.notice);
  const form = newSubscriptionForm({
    created: (subscription) =>
      subscriptionsScreen(screen, { created: subscription }).catch(screen.fail),
    fail: screen.fail,
    open: page.items.length === 0 && !screen.params.get('cursor'),
  });
  showPage(screen, page, {
    section: 'subscriptions',
    title: 'Subscriptions',
    filters: [],
    noun: 'subscription',
    extras: [notice, panel, form],
    caption: 'Subscriptions by name',
    headers: [
      'Name',
      { label: 'URL', class: 'hide-narrow' },
      { label: 'Filter', class: 'hide-narrow' },
      'State',
      { label: 'Limits', class: 'hide-narrow' },
      { label: 'Delivered, 1 h', class: 'num' },
      { label: 'Failed, 1 h', class: 'num' },
      { label: 'Failed', class: 'num' },
      { label: 'Pending', class: 'num' },
      { label: 'Last error', class: 'hide-narrow' },
      'Actions',
    ],
    rows: page.items.map((s) => row(s, screen)),
    empty: 'No subscription yet: stored events are sent nowhere.',
    hint: 'Limits: attempts open at once, and deliveries started per second when limited (across every consumer process). 1 h: in the last hour. Failed: retries exhausted, to be replayed from the subscription. Pending: waiting to be sent or retried. Last error: the latest attempt without a 2xx answer. Paused: nothing is sent, deliveries wait; a subscription whose every attempt failed for a while (24 h by default) is paused automatically, and sends again once resumed.',
  });
  if (notice && isCurrent(screen.id)) {
    say(screen.notice);
    notice.focus();
  }
  if (created && isCurrent(screen.id)) {
    say(`Created ${created.name}: copy its secret now, it will not be shown again.`);
    panel.focus();
  }
}

/** A field of the new-subscription form: one with a hint spans the form. */
function newField(name, label, input, hint) {
  return formField('new', name, label, input, hint, { wide: Boolean(hint) });
}
