// The page's content area and status line, and which navigation owns them: every navigation
// starts a new screen, and a slow answer for an older one is dropped.
import { h } from './dom.js';

export const main = document.getElementById('main');
const statusLine = document.getElementById('status');

let current = 0;
let refreshTimer;
let sayTimer;

/** Starts a screen: older ones can no longer show anything and their refresh stops. */
export function newScreen() {
  clearTimeout(refreshTimer);
  current += 1;
  return current;
}

export function isCurrent(id) {
  return id === current;
}

/**
 * Shows a screen's content unless the user has moved on since it was requested. Like `h`'s
 * children, a part that is null or false is left out (replaceChildren would write "null").
 */
export function show(screen, title, nodes, { focus = true } = {}) {
  if (!isCurrent(screen.id)) return false;
  document.title = `${title} · Webhook console`;
  main.replaceChildren(...nodes.filter((node) => node !== null && node !== false));
  if (focus) main.focus({ preventScroll: true });
  return true;
}

/** Runs `refresh` after `delayMs`, unless another navigation comes first. */
export function refreshLater(refresh, delayMs) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delayMs);
}

/** Announces `message` (screen readers) and shows it for a few seconds. */
export function say(message) {
  statusLine.textContent = message;
  clearTimeout(sayTimer);
  if (message) sayTimer = setTimeout(() => (statusLine.textContent = ''), 5000);
}

/**
 * The outcome of what led to a screen (`screen.notice`), shown at its top: focus it once shown,
 * so it is read first. Null when there is none.
 */
export function noticeBox(text) {
  if (!text) return null;
  return h('div', { class: 'result', tabindex: '-1' }, h('p', {}, text));
}
