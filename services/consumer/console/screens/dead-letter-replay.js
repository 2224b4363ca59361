// Replaying dead letters from the console, in two steps: a dry run shows how many would move,
// then the operator confirms.
import { api, Unauthorized } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { say } from '../lib/view.js';

async function count(panel, selection) {
  try {
    return await api('/dead-letters/replay', {
      method: 'POST',
      body: { ...selection, dryRun: true },
    });
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    panel.replaceChildren(
      h('p', { class: 'error', role: 'alert' }, `Could not count: ${err.message}`),
    );
    return undefined;
  }
}

async function replay(panel, selection, reload) {
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
      h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: reload }, 'Refresh')),
    );
    say(`Replayed: ${moved.toLowerCase()}.`);
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    panel.replaceChildren(
      h('p', { class: 'error', role: 'alert' }, `Replay failed: ${err.message}`),
    );
  }
  panel.focus();
}

/**
 * Replays `selection` (`ids`, or the filters) once confirmed. `panel` shows the count, then the
 * result; `describe` names the selection in it; its Refresh button calls `reload`.
 */
export async function startReplay({ panel, selection, describe, reload }) {
  panel.replaceChildren(h('p', {}, 'Counting…'));
  panel.hidden = false;
  const preview = await count(panel, selection);
  if (preview === undefined) return;
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
    await replay(panel, selection, reload);
  });
}

/** The panel `startReplay` fills, hidden until then. */
export function replayPanel() {
  return h('div', { class: 'confirm', tabindex: '-1', hidden: true, 'aria-live': 'polite' });
}
