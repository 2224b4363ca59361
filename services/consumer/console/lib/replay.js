// Replaying from the console, in two steps: a dry run shows how many would be replayed, then
// the operator confirms. Dead letters and deliveries are replayed this way.
import { api, Unauthorized } from './api.js';
import { h } from './dom.js';

/** "1 delivery", "3 deliveries": `nouns` is `[singular, plural]`. */
export function counted(count, [one, many]) {
  return `${count} ${count === 1 ? one : many}`;
}

/** `POST path` with `body`; a failure other than 401 is shown in `panel` as `failing: …`. */
async function post(panel, path, body, failing) {
  try {
    return await api(path, { method: 'POST', body });
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    panel.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${failing}: ${err.message}`));
    panel.focus();
    return undefined;
  }
}

/**
 * Counts `selection` with a dry run of `POST path`, shows the count in `panel` and, once
 * confirmed, replays it and hands the answer to `done`. `words` say what is replayed: `nouns`
 * (`[singular, plural]`), `describe` (the selection, as in "(the selected ones)"), `nothing`
 * (shown when nothing matches), `consequence` (what confirming does, after the count) and
 * `confirmLabel(count)` (the confirm button, given "3 deliveries").
 */
export async function startReplay({ panel, path, selection, words, done }) {
  panel.className = 'confirm';
  panel.replaceChildren(h('p', {}, 'Counting…'));
  panel.hidden = false;
  const preview = await post(panel, path, { ...selection, dryRun: true }, 'Could not count');
  if (preview === undefined) return;
  if (preview.matched === 0) {
    panel.replaceChildren(h('p', {}, words.nothing));
    panel.focus();
    return;
  }
  const count = counted(preview.matched, words.nouns);
  const confirmButton = h('button', { type: 'button', class: 'danger' }, words.confirmLabel(count));
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
  panel.replaceChildren(
    h('p', {}, h('strong', {}, count), ` (${words.describe}) ${words.consequence}`),
    h('div', { class: 'toolbar' }, confirmButton, cancel),
  );
  panel.focus();
  confirmButton.addEventListener('click', async () => {
    confirmButton.disabled = true;
    cancel.disabled = true;
    const result = await post(panel, path, { ...selection, dryRun: false }, 'Replay failed');
    if (result !== undefined) done(result);
  });
}

/** The panel `startReplay` fills, hidden until then. */
export function replayPanel() {
  return h('div', { class: 'confirm', tabindex: '-1', hidden: true, 'aria-live': 'polite' });
}
