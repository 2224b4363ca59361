// The operator console: plain DOM, no framework, no build step, ES modules from this origin only.
// This module signs in and out and routes `#/<section>[/<id>][?<filters>]` to a screen; each
// screen is a module of screens/, the parts they share are in lib/.
import { api, token, Unauthorized } from './lib/api.js';
import { h } from './lib/dom.js';
import { isCurrent, main, newScreen, say } from './lib/view.js';
import { deadLetterScreen } from './screens/dead-letter-detail.js';
import { deadLettersScreen } from './screens/dead-letters.js';
import { deliveryScreen } from './screens/delivery-detail.js';
import { eventScreen } from './screens/event-detail.js';
import { eventsScreen } from './screens/events.js';
import { overviewScreen } from './screens/overview.js';
import { rejectedListScreen } from './screens/rejected.js';
import { rejectedScreen } from './screens/rejected-detail.js';
import { subscriptionScreen } from './screens/subscription-detail.js';
import { subscriptionsScreen } from './screens/subscriptions.js';

/**
 * Per section, its list and the screen of one of its items, and the entry of the navigation it
 * belongs to when that is another's (a delivery is one of a subscription's). Anything else is
 * the overview.
 */
const SECTIONS = new Map([
  ['overview', { list: overviewScreen }],
  ['events', { list: eventsScreen, one: eventScreen }],
  ['subscriptions', { list: subscriptionsScreen, one: subscriptionScreen }],
  ['deliveries', { list: subscriptionsScreen, one: deliveryScreen, nav: 'subscriptions' }],
  ['dead-letters', { list: deadLettersScreen, one: deadLetterScreen }],
  ['rejected', { list: rejectedListScreen, one: rejectedScreen }],
]);

const signOut = document.getElementById('sign-out');
/** What the next screen shows once at its top: the outcome of what led to it (`screen.open`). */
let carriedNotice;

function showSignIn(message) {
  newScreen();
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
    token.set(input.value);
    try {
      await api('/overview');
    } catch (err) {
      token.clear();
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

/** A 401 signs out; any other failure of the screen still shown is shown in its place. */
function handleError(err, id) {
  if (err instanceof Unauthorized) {
    const had = token.get() !== null;
    token.clear();
    showSignIn(had ? 'The token is no longer accepted; sign in again.' : undefined);
    return;
  }
  if (!isCurrent(id)) return;
  main.replaceChildren(
    h('h1', {}, 'Something went wrong'),
    h('p', { class: 'error', role: 'alert' }, err.message),
    h('button', { type: 'button', onclick: () => route() }, 'Try again'),
  );
}

async function route() {
  const id = newScreen();
  const hash = location.hash.replace(/^#/, '') || '/overview';
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  const section = parts[0] ?? 'overview';
  const screens = SECTIONS.get(section) ?? SECTIONS.get('overview');
  const navSection = screens.nav ?? section;
  for (const link of document.querySelectorAll('[data-section]')) {
    if (link.dataset.section === navSection) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  signOut.hidden = token.get() === null;
  say('');
  const render = parts[1] && screens.one ? screens.one : screens.list;
  const notice = carriedNotice;
  carriedNotice = undefined;
  /** What a screen knows of its navigation. */
  const screen = {
    id,
    params: new URLSearchParams(query),
    rowId: parts[1],
    notice,
    fail: (err) => handleError(err, id),
    reload: () => route(),
    /** Goes to `hash` (or shows this screen again), `notice` at the top of what it shows. */
    open: (hash, text) => {
      carriedNotice = text;
      if (location.hash === hash) route();
      else location.hash = hash;
    },
  };
  try {
    await render(screen);
  } catch (err) {
    screen.fail(err);
  }
}

signOut.addEventListener('click', () => {
  token.clear();
  route();
});
window.addEventListener('hashchange', route);
route();
